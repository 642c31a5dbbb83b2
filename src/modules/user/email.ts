import { createRequire } from 'node:module'
import { domainToASCII, domainToUnicode } from 'node:url'
import { getPublicSuffix } from 'tldts'

const require = createRequire(import.meta.url)

/**
 * What addresses are stored and deduped on (an account's with `accountEmail`'s folds besides):
 * trimmed, lower-cased and in Unicode NFC (the form RFC 6532 asks for), so `josé@…` typed with a precomposed é and with e plus a combining accent (as some
 * keyboards and pasted text give it) is one address, one person and one login budget.
 * `+tags` are kept: `ada+news@` is an address of its own (see `canonicalEmail`).
 *
 * The domain is put in the form mail is delivered by (IDNA, UTS #46), written in Unicode:
 * `ada@ｅｘａｍｐｌｅ.com`, `ada@ℯxample.com` and `ada@example.com` all reach one mailbox, as
 * do `exämple.com` and `xn--exmple-cua.com`, so each is one person (and one
 * disposable-domain check), not look-alike accounts of the same address. A domain IDNA refuses
 * stays as typed. A full stop IDNA maps to `.` (ideographic `。`, fullwidth `．`, halfwidth `｡`)
 * may end the domain as typed, where the form's ASCII dot may not: `example.com｡` is the fully
 * qualified `example.com.`, the same mailbox as `example.com`, so trailing (root) dots go.
 */
export function normaliseEmail(email: string): string {
  const mapped = mappedEmail(email)
  const at = mapped.lastIndexOf('@')
  return at < 0 ? mapped : `${mapped.slice(0, at + 1)}${mapped.slice(at + 1).replace(/\.+$/, '')}`
}

/**
 * What an account is stored, found and budgeted under: `normaliseEmail`, and in the local part the
 * fullwidth forms of ASCII that a Japanese or Chinese input method types (`ａｄａ`) are the ASCII
 * letters the person meant, as is Turkish `İ` (a Turkish keyboard's capital i, which lower-cases
 * to i with a combining dot above, drawn as `i`): else they would join as someone their address
 * typed plainly never finds again, beside a second account of their mailbox. (The lead form takes
 * only ASCII before the @ and says so instead: its addresses stay in `normaliseEmail`'s form.)
 */
export function accountEmail(email: string): string {
  const normal = normaliseEmail(email)
  const at = normal.lastIndexOf('@')
  if (at < 0) return normal
  const local = normal
    .slice(0, at)
    .replace(FULLWIDTH_ASCII, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replaceAll('i\u0307', 'i')
    // A mark after a fullwidth letter composes with the ASCII one (`ａ` + U+0301 is `á`).
    .normalize('NFC')
  return `${local}${normal.slice(at)}`
}

/** Fullwidth `！` to `～`, but `＠`: a local part holds no `@`, however it was typed. */
const FULLWIDTH_ASCII = /[\uFF01-\uFF1F\uFF21-\uFF5E]/g

/** How addresses were stored before local parts (fullwidth, `İ`) and root dots were folded. */
function mappedEmail(email: string): string {
  const nfc = previousEmail(email)
  const at = nfc.lastIndexOf('@')
  if (at < 0) return nfc
  const ascii = domainToASCII(nfc.slice(at + 1))
  const domain = ascii ? domainToUnicode(ascii) : ''
  return domain ? `${nfc.slice(0, at + 1)}${domain}` : nfc
}

/** How addresses were stored before their domain was mapped (trimmed, lower-cased, NFC). */
function previousEmail(email: string): string {
  return email.trim().toLowerCase().normalize('NFC')
}

/**
 * The forms an account made earlier may be stored under, for the address as typed: before local
 * parts (fullwidth, `İ`) and root dots were folded, before domains were mapped, and before NFC
 * (trimmed and lower-cased only). So nobody already in is locked out of their account; the
 * normal form is looked up first.
 */
export function earlierEmails(email: string): string[] {
  const normal = accountEmail(email)
  const earlier = [mappedEmail(email), previousEmail(email), email.trim().toLowerCase()]
  return [...new Set(earlier)].filter((e) => e !== normal)
}

/**
 * Every form another module may hold this (normal) address under: itself and, with the domain in
 * its ASCII (`xn--`) form, what forms that take only ASCII addresses (the lead form) store. What
 * erasure looks for, so a person whose domain is internationalised loses their leads too. An
 * account stored before a rule of `normaliseEmail` was added (`example.com.`) may have leads under
 * its own form, so that is looked for as well.
 */
export function storedForms(email: string): string[] {
  const normal = normaliseEmail(email)
  return [...new Set([normal, withAsciiDomain(normal), email, withAsciiDomain(email)])]
}

/** An address with its domain in the ASCII (`xn--`) form; as is when IDNA refuses the domain. */
export function withAsciiDomain(address: string): string {
  const at = address.lastIndexOf('@')
  const ascii = at < 0 ? '' : domainToASCII(address.slice(at + 1))
  return ascii ? `${address.slice(0, at + 1)}${ascii}` : address
}

/**
 * The mailbox an address delivers to, for "is this the same person" checks: `+tags` dropped
 * everywhere, dots dropped for Gmail (which ignores them). Never stored; only compared.
 */
export function canonicalEmail(email: string): string {
  const normal = accountEmail(email)
  const at = normal.lastIndexOf('@')
  if (at < 0) return normal
  let local = normal.slice(0, at).split('+')[0]!
  let domain = normal.slice(at + 1)
  if (domain === 'googlemail.com') domain = 'gmail.com'
  if (domain === 'gmail.com') local = local.replaceAll('.', '')
  return `${local}@${domain}`
}

/** The disposable-domain list, loaded on first use (see `disposableLists`). */
let disposable: { exact: Set<string>; wildcard: Set<string> } | undefined

/**
 * The maintained list (`disposable-email-domains`): its domains, and its wildcard file's parents
 * whose every subdomain is disposable (`33mail.com`), each in the ASCII (`xn--`) form, since the
 * list writes internationalised domains either way (`desayuno-étnico.info`, `5801000.xn--p1ai`).
 * Read once, on first use: ~120k domains, needed only where a rule refuses throwaway addresses.
 */
function disposableLists(): { exact: Set<string>; wildcard: Set<string> } {
  if (!disposable) {
    const ascii = (domains: string[]) =>
      new Set(domains.map((d) => (/^[\x00-\x7F]*$/.test(d) ? d : domainToASCII(d) || d)))
    disposable = {
      exact: ascii(require('disposable-email-domains') as string[]),
      wildcard: ascii(require('disposable-email-domains/wildcard.json') as string[]),
    }
  }
  return disposable
}

/**
 * True when the address's domain is on the disposable list, or is a subdomain of a listed domain
 * (`abc.guerrillamail.com`: the subdomain is the spammer's to choose). Parents are looked up down
 * to the registrable domain and no further: the list names a few public suffixes (`edu.pl`,
 * `za.com`) under which others register names of their own (`uw.edu.pl`), so those are refused
 * only when named themselves. A parent in the list's wildcard file is refused at any level, as
 * its maintainers say. Shared by the lead form (`block_disposable_emails`) and referrals; one
 * `Set` lookup a label.
 */
export function isDisposableEmail(email: string): boolean {
  if (!email.includes('@')) return false
  const domain = withAsciiDomain(normaliseEmail(email)).split('@').pop() ?? ''
  if (!domain) return false
  const { exact, wildcard } = disposableLists()
  if (exact.has(domain) || wildcard.has(domain)) return true
  // Public suffixes of the private section too (`za.com`, `ddns.net`): names under them are
  // registered by different people, as under `com`.
  const suffix = getPublicSuffix(domain, { allowPrivateDomains: true }) ?? ''
  const labels = domain.split('.')
  for (let i = 1; i < labels.length - 1; i++) {
    const parent = labels.slice(i).join('.')
    if (wildcard.has(parent)) return true
    if (parent.length > suffix.length && exact.has(parent)) return true
  }
  return false
}

/** Something shaped like an address in text: a local part, an @, a domain with a dot and a top level. */
const ADDRESS_IN_TEXT = /[^\s@()<>[\],;:"']+@[^\s@()<>[\],;:"']+\.\p{L}{2,}/u

/**
 * Whether a display name holds an email address (`ada@example.com`, `Ada (ada@example.com)`):
 * names are shown to every visitor of a campaign, which promises never to show an address. An @
 * that is no address (`@ada`, `Ada @ Acme`) is a name's own business.
 */
export function holdsEmailAddress(text: string): boolean {
  return ADDRESS_IN_TEXT.test(text)
}

export const NAME_HOLDS_EMAIL_HINT =
  'must not be or hold an email address: the name is shown to every visitor of the campaign'
