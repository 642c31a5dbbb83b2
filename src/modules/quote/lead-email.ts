import { normaliseEmail, withAsciiDomain } from '../user/email.js'

/**
 * The form a lead's address is stored, merged (the 24 h dedupe) and erased under: an account's
 * normal form (`normaliseEmail`: trimmed, lower-cased, NFC, the domain mapped as mail is
 * delivered) with its domain in ASCII (`xn--`), since the lead form takes only ASCII addresses.
 * So `Ada@ＥＸＡＭＰＬＥ.com` and `ada@ℯxample.com` are `ada@example.com`'s lead and
 * `ada@exämple.com` is `ada@xn--exmple-cua.com`'s, and erasure, which looks the account up in
 * `storedForms`, finds each: a look-alike can neither start a second lead nor outlive erasure.
 * A domain IDNA refuses stays as typed (and the form refuses it).
 */
export function leadEmail(typed: string): string {
  return withAsciiDomain(normaliseEmail(typed))
}
