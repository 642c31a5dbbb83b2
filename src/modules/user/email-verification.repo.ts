import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { forgetLinks, replaceLinkIf, takeLink } from './mailed-link.repo.js'

const LINKS = 'service_user_email_verification'

/**
 * A new link for `userId`'s `email`, replacing any they were sent before (only the latest works),
 * and sweeping the links everyone let expire. Stored only while `email` is still the person's,
 * unverified, and they are not erased (`false` then, and nothing is to be mailed; see
 * `replaceLinkIf`).
 */
export async function storeVerifyToken(
  db: Db,
  link: { userId: string; email: string; tokenHash: string },
  ttlMs: number,
): Promise<boolean> {
  return replaceLinkIf(db, LINKS, link, ttlMs, async (trx) => {
    const person = await trx
      .selectFrom('service_user_master')
      .select('id')
      .where('id', '=', link.userId)
      .where('email', '=', link.email)
      .where('erased_at', 'is', null)
      .where('email_verified_at', 'is', null)
      .forShare()
      .executeTakeFirst()
    return person !== undefined
  })
}

/**
 * When the person's address was verified, read in a join's transaction `trx` under a share lock
 * held until its commit: a verification committing meanwhile is waited for and seen, and one that
 * commits after it finds the join's membership (so one of the two logs the event there).
 */
export async function lockVerifiedAt(trx: Db, userId: string): Promise<Date | null> {
  const row = await trx
    .selectFrom('service_user_master')
    .select('email_verified_at')
    .where('id', '=', userId)
    .where('erased_at', 'is', null)
    .forShare()
    .executeTakeFirst()
  return row?.email_verified_at ?? null
}

/**
 * Uses a link: it goes, and the person and address it was sent for come back; `undefined` when
 * it is unknown, was used or replaced meanwhile, or expired. One of two uses racing on it gets it.
 */
export const takeVerifyToken = (trx: Db, tokenHash: string) => takeLink(trx, LINKS, tokenHash)

/**
 * The person proved they read `email`'s mail: when it is still their address and they are not
 * erased, it is verified from now, unless it was already. The time it was verified at when it
 * now is or already was, and whether this call verified it; `undefined` when the person is erased
 * or their address is another now.
 */
export async function markVerified(
  trx: Db,
  userId: string,
  email: string,
): Promise<{ at: Date; now: boolean } | undefined> {
  const set = await trx
    .updateTable('service_user_master')
    .set({ email_verified_at: sql<Date>`now()` })
    .where('id', '=', userId)
    .where('email', '=', email)
    .where('erased_at', 'is', null)
    .where('email_verified_at', 'is', null)
    .returning('email_verified_at')
    .executeTakeFirst()
  if (set?.email_verified_at) return { at: set.email_verified_at, now: true }
  const row = await trx
    .selectFrom('service_user_master')
    .select('email_verified_at')
    .where('id', '=', userId)
    .where('email', '=', email)
    .where('erased_at', 'is', null)
    .executeTakeFirst()
  return row?.email_verified_at ? { at: row.email_verified_at, now: false } : undefined
}

/**
 * The campaign event every campaign the person joined logs for the verification: a referral rule
 * (`referral_qualifies_on: email_verified`) reads it as it reads an action's, also in its catch-up.
 * With `only` (a join's transaction, see `lockVerifiedAt`), in that campaign alone, unless it was
 * logged there already. The campaigns it was logged in.
 */
export async function logVerified(
  trx: Db,
  userId: string,
  event: string,
  eventId: () => string,
  only?: string,
): Promise<string[]> {
  let query = trx
    .selectFrom('service_user_membership as m')
    .select(['m.campaign_slug', 'm.session_id'])
    .where('m.user_id', '=', userId)
  if (only !== undefined) {
    // A person verified before joining `only`: logged there once.
    query = query
      .where('m.campaign_slug', '=', only)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('service_analytics_event as e')
              .select('e.id')
              .where('e.campaign_slug', '=', only)
              .where('e.user_id', '=', userId)
              .where('e.event', '=', event),
          ),
        ),
      )
  }
  const joined = await query.execute()
  if (joined.length === 0) return []
  await trx
    .insertInto('service_analytics_event')
    .values(
      joined.map((m) => ({
        event_id: eventId(),
        campaign_slug: m.campaign_slug,
        event,
        user_id: userId,
        session_id: m.session_id,
        // As the dispatcher logs an action without data: JSON null.
        payload: sql`'null'::jsonb`,
        metadata: sql`'{}'::jsonb`,
        timestamp: sql<Date>`now()`,
        received_at: sql<Date>`now()`,
      })),
    )
    .execute()
  return joined.map((m) => m.campaign_slug)
}

/** Erasure: the person's links go with their address. */
export const forgetVerifyTokens = (trx: Db, userId: string) => forgetLinks(trx, LINKS, userId)
