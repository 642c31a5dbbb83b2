import { type Selectable, sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { Database } from '../../platform/db/tables.js'

/**
 * The links mailed about an account (migrations 043–045): each row a token's hash, whose it is,
 * the address it confirms where it confirms one, and until when it works.
 */
export type LinkTable =
  | 'service_user_password_reset'
  | 'service_user_email_verification'
  | 'service_user_email_change'

/** A link to store: the token itself is only mailed, never kept. */
export interface NewLink {
  userId: string
  tokenHash: string
  /** The address it confirms (a verification's, a change's); a reset's confirms none. */
  email?: string
}

/**
 * In `trx`: the link replaces any the person was sent before in `table` (only the latest works),
 * and the links everyone let expire there are swept.
 */
async function replaceLink(trx: Db, table: LinkTable, link: NewLink, ttlMs: number): Promise<void> {
  await trx.deleteFrom(table).where('user_id', '=', link.userId).execute()
  await trx.deleteFrom(table).where('expires_at', '<=', sql<Date>`now()`).execute()
  await trx
    .insertInto(table)
    .values({
      token_hash: link.tokenHash,
      user_id: link.userId,
      ...(link.email === undefined ? {} : { email: link.email }),
      expires_at: sql<Date>`now() + ${`${ttlMs} milliseconds`}::interval`,
    })
    .execute()
}

/**
 * `replaceLink` in a transaction of its own, only while `wanted` (read in it) holds: whether the
 * link was stored (`false`: nothing is to be mailed). `wanted` reads the person's row under a
 * share lock held to the commit, so an erasure (which locks the row first) either finds the link
 * and removes it, or is waited for and stops it.
 */
export async function replaceLinkIf(
  db: Db,
  table: LinkTable,
  link: NewLink,
  ttlMs: number,
  wanted: (trx: Db) => Promise<boolean>,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    if (!(await wanted(trx))) return false
    await replaceLink(trx, table, link, ttlMs)
    return true
  })
}

/**
 * Uses a link: it goes, and its row comes back (whose it was, the address it confirms where it
 * confirms one); `undefined` when it is unknown, was used or replaced meanwhile, or expired. One
 * of two uses racing on it gets it.
 */
export async function takeLink<T extends LinkTable>(
  trx: Db,
  table: T,
  tokenHash: string,
): Promise<Selectable<Database[T]> | undefined> {
  const row = await trx
    .deleteFrom(table as LinkTable)
    .where('token_hash', '=', tokenHash)
    .where('expires_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst()
  // Kysely types a statement over a union of tables by their shared columns: the row is `T`'s.
  return row as Selectable<Database[T]> | undefined
}

/** The person's links in `table` go: one was used, their address changed, or they are erased. */
export async function forgetLinks(trx: Db, table: LinkTable, userId: string): Promise<void> {
  await trx.deleteFrom(table).where('user_id', '=', userId).execute()
}
