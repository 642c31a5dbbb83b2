import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { forgetLinks, replaceLinkIf, takeLink } from './mailed-link.repo.js'
import { lockUnerased } from './user.repo.js'

const LINKS = 'service_user_email_change'

/**
 * A new link confirming `email` as `userId`'s next address, replacing any change they asked for
 * before (only the latest works), and sweeping the links everyone let expire. Stored only while the
 * person is not erased (`false` then, and nothing is to be mailed; see `replaceLinkIf`).
 */
export const storeChangeToken = (
  db: Db,
  link: { userId: string; email: string; tokenHash: string },
  ttlMs: number,
): Promise<boolean> => replaceLinkIf(db, LINKS, link, ttlMs, (trx) => lockUnerased(trx, link.userId))

/**
 * Uses a link: it goes, and the person and the address it confirms come back; `undefined` when it
 * is unknown, was used or replaced meanwhile, or expired. One of two uses racing on it gets it.
 */
export const takeChangeToken = (trx: Db, tokenHash: string) => takeLink(trx, LINKS, tokenHash)

/**
 * Makes `email` the person's address, locking their row (an erasure waits, or has committed and
 * nothing changes): the one it replaces is kept among their former addresses. An address verified
 * before makes the new one verified from now (its link proved it); one never verified stays so,
 * for the caller to verify as a first confirmation. The address before, its verification and the
 * person's locale; `undefined` when they are erased.
 */
export async function swapEmail(trx: Db, userId: string, email: string) {
  const person = await trx
    .selectFrom('service_user_master')
    .select(['email', 'email_verified_at', 'locale'])
    .where('id', '=', userId)
    .where('erased_at', 'is', null)
    .forUpdate()
    .executeTakeFirst()
  if (!person?.email) return undefined
  if (person.email !== email) {
    await trx
      .insertInto('service_user_former_email')
      .values({ user_id: userId, email: person.email })
      .onConflict((oc) => oc.columns(['user_id', 'email']).doUpdateSet({ until: sql<Date>`now()` }))
      .execute()
    await trx
      .updateTable('service_user_master')
      .set({
        email,
        email_verified_at: person.email_verified_at ? sql<Date>`now()` : null,
        updated_at: new Date(),
      })
      .where('id', '=', userId)
      .execute()
  }
  return { previous: person.email, wasVerified: person.email_verified_at !== null, locale: person.locale }
}

/** The addresses a person had before their changes, and until when each was theirs, oldest first. */
export async function formerEmails(db: Db, userId: string): Promise<Array<{ email: string; until: Date }>> {
  return db
    .selectFrom('service_user_former_email')
    .select(['email', 'until'])
    .where('user_id', '=', userId)
    .orderBy('until')
    .execute()
}

/** Erasure: the person's pending change and their former addresses go with their address. */
export async function forgetEmailChanges(trx: Db, userId: string): Promise<void> {
  await forgetLinks(trx, LINKS, userId)
  await trx.deleteFrom('service_user_former_email').where('user_id', '=', userId).execute()
}
