import { domainToASCII, domainToUnicode } from 'node:url'
import { type Kysely, sql } from 'kysely'

/**
 * `leadEmail` as this release wrote it (src/modules/quote/lead-email.ts), frozen here so a later
 * change to the module cannot change what this migration did: trimmed, lower-cased, NFC, the
 * domain mapped by IDNA (UTS #46) and written in ASCII; a domain IDNA refuses stays as typed.
 */
function leadEmail(typed: string): string {
  const nfc = typed.trim().toLowerCase().normalize('NFC')
  const at = nfc.lastIndexOf('@')
  if (at < 0) return nfc
  const ascii = domainToASCII(nfc.slice(at + 1))
  const unicode = ascii ? domainToUnicode(ascii) : ''
  const normal = unicode ? `${nfc.slice(0, at + 1)}${unicode}` : nfc
  const at2 = normal.lastIndexOf('@')
  const ascii2 = domainToASCII(normal.slice(at2 + 1))
  return ascii2 ? `${normal.slice(0, at2 + 1)}${ascii2}` : normal
}

/**
 * An address that only ASCII letters and digits, `.`, `-` and the other ASCII signs a local part
 * may hold make up, with a dotted domain whose last label starts with a letter, is its own stored
 * form (`leadEmail`): nothing to map, no IPv4 host to rewrite. Only the rest is read back here.
 */
const PLAIN = "^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@([a-z0-9-]+\\.)+[a-z][a-z0-9-]*$"
const BATCH = 1000

/**
 * Leads were stored trimmed and lower-cased only, not in the form accounts are (see
 * `leadEmail`): a look-alike of an address (`ada@ｅｘａｍｐｌｅ.com`) was a lead of its own,
 * which the 24 h merge and an erasure looking up the account's `storedForms` both missed. Every
 * lead's address is rewritten to its stored form (IDNA is JavaScript's, so the rows are read
 * back; only those not plain already, see `PLAIN`). No unique index holds lead addresses (the
 * merge looks up the newest open lead of the 24 h window), so two leads that now share one
 * address both stay, and the next submission merges into the newer: no lead is lost.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ email: string }>`
    select distinct email from service_quote_main
    where email is not null and email !~ ${PLAIN}`.execute(db)
  const changes = rows.map((r) => ({ from: r.email, to: leadEmail(r.email) })).filter((c) => c.to !== c.from)
  for (let i = 0; i < changes.length; i += BATCH) {
    await sql`
      update service_quote_main q set email = c."to"
      from jsonb_to_recordset(${JSON.stringify(changes.slice(i, i + BATCH))}::jsonb) as c("from" text, "to" text)
      where q.email = c."from"`.execute(db)
  }
}

/** The old form cannot be told back from the new one: the addresses stay in their stored form. */
export async function down(): Promise<void> {}
