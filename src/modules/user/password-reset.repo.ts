import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { forgetLinks, replaceLinkIf, takeLink } from './mailed-link.repo.js'
import { lockUnerased } from './user.repo.js'

const LINKS = 'service_user_password_reset'

/**
 * A new link for `userId`, replacing any they were sent before (only the latest works), and
 * sweeping the links everyone let expire. Stored only while the person is not erased (`false`
 * then, and nothing is to be mailed; see `replaceLinkIf`).
 */
export const storeResetToken = (db: Db, userId: string, tokenHash: string, ttlMs: number): Promise<boolean> =>
  replaceLinkIf(db, LINKS, { userId, tokenHash }, ttlMs, (trx) => lockUnerased(trx, userId))

/** The person a link that has not expired is for, if they are not erased; `undefined` otherwise. */
export async function findResetToken(db: Db, tokenHash: string) {
  return db
    .selectFrom('service_user_password_reset as r')
    .innerJoin('service_user_master as u', 'u.id', 'r.user_id')
    .select(['u.id', 'u.email'])
    .where('r.token_hash', '=', tokenHash)
    .where('r.expires_at', '>', sql<Date>`now()`)
    .where('u.erased_at', 'is', null)
    .executeTakeFirst()
}

/**
 * Uses the link: it and every other of the person's go, and the person's id comes back; or
 * `undefined` when it was used (or replaced) meanwhile, or expired. One of two resets racing on a
 * link gets it.
 */
export async function takeResetToken(trx: Db, tokenHash: string): Promise<string | undefined> {
  const taken = await takeLink(trx, LINKS, tokenHash)
  if (!taken) return undefined
  await forgetLinks(trx, LINKS, taken.user_id)
  return taken.user_id
}

/** Stores a new password hash for a person not erased; false when they were erased meanwhile. */
export async function setPasswordHash(trx: Db, userId: string, hash: string): Promise<boolean> {
  const res = await trx
    .updateTable('service_user_master')
    .set({ password_hash: hash })
    .where('id', '=', userId)
    .where('erased_at', 'is', null)
    .executeTakeFirst()
  return Number(res.numUpdatedRows) === 1
}

/** Erasure: the person's links go with their address. */
export const forgetResetTokens = (trx: Db, userId: string) => forgetLinks(trx, LINKS, userId)
