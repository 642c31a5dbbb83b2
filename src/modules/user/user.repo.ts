import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { accountEmail, earlierEmails } from './email.js'
import type { PersonRole } from './user.schema.js'

export interface UserRow {
  id: string
  email: string | null
  display_name: string
  password_hash: string | null
  locale: string | null
  created_at: Date
  erased_at: Date | null
  tokens_valid_after: Date | null
  /** What their tokens carry (migration 035). */
  role: PersonRole
  /** When they proved they read `email`'s mail (migration 044). */
  email_verified_at: Date | null
}

export interface MembershipRow {
  campaign_slug: string
  user_id: string
  referral_code: string
  session_id: string
  joined_at: Date
  joined_via_user_id: string | null
  joined_via_session_id: string | null
}

const userColumns = [
  'id',
  'email',
  'display_name',
  'password_hash',
  'locale',
  'created_at',
  'erased_at',
  'tokens_valid_after',
  'role',
  'email_verified_at',
] as const

export async function findById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('service_user_master').select(userColumns).where('id', '=', id).executeTakeFirst()
}

export async function findByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('service_user_master')
    .select(userColumns)
    .where('email', '=', email)
    .executeTakeFirst()
}

/**
 * The account an address typed at login or reset is for: stored under `accountEmail` (pass it when
 * already computed), or under a form addresses were stored in before a fold was added.
 */
export async function findAccount(db: Db, typed: string, email = accountEmail(typed)) {
  const found = await findByEmail(db, email)
  if (found) return found
  for (const earlier of earlierEmails(typed)) {
    const row = await findByEmail(db, earlier)
    if (row) return row
  }
  return undefined
}

/**
 * Stores `next` as the person's password hash only while `previous` is still the stored one and
 * they are not erased: a rehash at login never brings back a password erasure blanked, nor
 * overwrites one set meanwhile. True when it was stored.
 */
export async function replacePasswordHash(
  db: Db,
  userId: string,
  previous: string,
  next: string,
): Promise<boolean> {
  const res = await db
    .updateTable('service_user_master')
    .set({ password_hash: next })
    .where('id', '=', userId)
    .where('password_hash', '=', previous)
    .where('erased_at', 'is', null)
    .executeTakeFirst()
  return Number(res.numUpdatedRows) === 1
}

/**
 * What a person agreed to: the latest consent they gave (`text_version`, `at`, the campaign whose
 * form they gave it on) and, in `by_campaign`, the latest per campaign, since each campaign's join
 * form may show its own text and a returning person's later consent must be on record too.
 */
export interface Consent {
  text_version: string
  at: string
  campaign: string
  by_campaign: Record<string, { text_version: string; at: string }>
}

/** The consent given at a join, as stored for a new person. */
export function firstConsent(campaign: string, given: { text_version: string; at: string }): Consent {
  return { ...given, campaign, by_campaign: { [campaign]: given } }
}

/**
 * Records consent given at a later join (another campaign's form, or this one's again): the
 * person's latest, and the latest for that campaign; what they agreed to elsewhere stays.
 */
export async function recordConsent(
  db: Db,
  userId: string,
  campaign: string,
  given: { text_version: string; at: string },
): Promise<void> {
  const latest = JSON.stringify({ ...given, campaign })
  const entry = JSON.stringify(given)
  await db
    .updateTable('service_user_master')
    .set({
      consent: sql`(coalesce(consent, '{}'::jsonb) || ${latest}::jsonb) || jsonb_build_object(
        'by_campaign',
        coalesce(consent->'by_campaign', '{}'::jsonb) || jsonb_build_object(${campaign}::text, ${entry}::jsonb)
      )`,
      updated_at: new Date(),
    })
    .where('id', '=', userId)
    .where('erased_at', 'is', null)
    .execute()
}

/** Insert unless the email exists (a concurrent join may have won); undefined then. */
export async function insertUser(
  db: Db,
  row: {
    id: string
    email: string
    display_name: string
    password_hash: string | null
    locale: string | null
    consent: Consent | null
    metadata: Record<string, unknown>
  },
): Promise<UserRow | undefined> {
  return db
    .insertInto('service_user_master')
    .values({
      ...row,
      consent: row.consent ? JSON.stringify(row.consent) : null,
      metadata: JSON.stringify(row.metadata),
      updated_at: new Date(),
    })
    .onConflict((oc) => oc.column('email').doNothing())
    .returning(userColumns)
    .executeTakeFirst()
}

export async function findMembership(db: Db, campaign: string, userId: string) {
  return db
    .selectFrom('service_user_membership')
    .selectAll()
    .where('campaign_slug', '=', campaign)
    .where('user_id', '=', userId)
    .executeTakeFirst()
}

/** Insert; undefined when either the (campaign, user) row or the (campaign, code) pair exists. */
export async function insertMembership(
  db: Db,
  row: {
    campaign_slug: string
    user_id: string
    referral_code: string
    session_id: string
    joined_via_user_id?: string
    joined_via_session_id?: string
  },
): Promise<MembershipRow | undefined> {
  return db
    .insertInto('service_user_membership')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst()
}

/** A campaign member with the fields referral rules need. */
export async function findMember(
  db: Db,
  campaign: string,
  by: { userId: string } | { code: string },
): Promise<
  (MembershipRow & { email: string | null; display_name: string; erased_at: Date | null }) | undefined
> {
  let q = db
    .selectFrom('service_user_membership as m')
    .innerJoin('service_user_master as u', 'u.id', 'm.user_id')
    .select([
      'm.campaign_slug',
      'm.user_id',
      'm.referral_code',
      'm.session_id',
      'm.joined_at',
      'm.joined_via_user_id',
      'm.joined_via_session_id',
      'u.email',
      'u.display_name',
      'u.erased_at',
    ])
    .where('m.campaign_slug', '=', campaign)
  q = 'code' in by ? q.where('m.referral_code', '=', by.code) : q.where('m.user_id', '=', by.userId)
  return q.executeTakeFirst()
}

/**
 * Records that a person continued this session (a guest who logged in or joined again from it):
 * their memberships do not name it, and erasure and "log out everywhere" must find it.
 */
export async function linkSession(db: Db, userId: string, sessionId: string): Promise<void> {
  await db
    .insertInto('service_user_session')
    .values({ user_id: userId, session_id: sessionId })
    .onConflict((oc) => oc.columns(['user_id', 'session_id']).doNothing())
    .execute()
}

/** Every session a person joined or logged in from (those that had a guest's history before them). */
export async function sessionIds(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('service_user_membership')
    .select('session_id')
    .where('user_id', '=', userId)
    .union(db.selectFrom('service_user_session').select('session_id').where('user_id', '=', userId))
    .execute()
  return [...new Set(rows.map((r) => r.session_id))]
}

/**
 * Of these sessions, those someone else (not erased) also joined or logged in from: one browser,
 * two people. Erasing one must not revoke such a session under the other.
 */
export async function sessionsSharedWithOthers(
  db: Db,
  sessionIds: string[],
  userId: string,
): Promise<string[]> {
  if (sessionIds.length === 0) return []
  const rows = await db
    .selectFrom('service_user_membership as m')
    .innerJoin('service_user_master as u', 'u.id', 'm.user_id')
    .select('m.session_id')
    .where('m.session_id', 'in', sessionIds)
    .where('m.user_id', '<>', userId)
    .where('u.erased_at', 'is', null)
    .union(
      db
        .selectFrom('service_user_session as s')
        .innerJoin('service_user_master as u', 'u.id', 's.user_id')
        .select('s.session_id')
        .where('s.session_id', 'in', sessionIds)
        .where('s.user_id', '<>', userId)
        .where('u.erased_at', 'is', null),
    )
    .execute()
  return [...new Set(rows.map((r) => r.session_id))]
}

/**
 * Sessions that must stop working, every token of them (an erased person's, one logged out of);
 * already revoked ones stay as they were.
 */
export async function revokeSessions(db: Db, sessionIds: string[], reason: string): Promise<void> {
  if (sessionIds.length === 0) return
  await db
    .insertInto('service_user_revoked_session')
    .values(sessionIds.map((session_id) => ({ session_id, reason })))
    .onConflict((oc) => oc.column('session_id').doNothing())
    .execute()
}

/**
 * Forget revocations made more than `seconds` ago, by the database's clock (the one that stamped
 * them): once every token of such a session has expired, its row stops nothing.
 */
export async function purgeRevokedSessions(db: Db, seconds: number): Promise<number> {
  const res = await db
    .deleteFrom('service_user_revoked_session')
    .where('revoked_at', '<', sql<Date>`now() - make_interval(secs => ${seconds}::double precision)`)
    .executeTakeFirst()
  return Number(res.numDeletedRows)
}

export async function isSessionRevoked(db: Db, sessionId: string): Promise<boolean> {
  const row = await db
    .selectFrom('service_user_revoked_session')
    .select('session_id')
    .where('session_id', '=', sessionId)
    .executeTakeFirst()
  return row !== undefined
}

/** What decides whether a person's user tokens are honoured: erasure, and their cut-off. */
export async function tokenState(
  db: Db,
  userId: string,
): Promise<{ erased_at: Date | null; tokens_valid_after: Date | null } | undefined> {
  return db
    .selectFrom('service_user_master')
    .select(['erased_at', 'tokens_valid_after'])
    .where('id', '=', userId)
    .executeTakeFirst()
}

/**
 * Refuses every user token of the person issued before `at`. Always moves the cut-off on, by a
 * millisecond at least: tokens carry the cut-off they were issued under and are refused once it
 * moved, so a node whose clock runs behind neither revives tokens another node cut off nor leaves
 * the tokens issued since that cut-off working.
 */
export async function cutOffTokens(db: Db, userId: string, at: Date): Promise<Date | undefined> {
  const row = await db
    .updateTable('service_user_master')
    .set({
      tokens_valid_after: sql<Date>`greatest(${at}::timestamptz, tokens_valid_after + interval '1 millisecond')`,
      updated_at: at,
    })
    .where('id', '=', userId)
    .returning('tokens_valid_after')
    .executeTakeFirst()
  return row?.tokens_valid_after ?? undefined
}

export async function displayNames(db: Db, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map()
  const rows = await db
    .selectFrom('service_user_master')
    .select(['id', 'display_name'])
    .where('id', 'in', ids)
    .where('erased_at', 'is', null)
    .execute()
  return new Map(rows.map((r) => [r.id, r.display_name]))
}

/**
 * The lock an erasure's update of the person's row takes, taken at the start of its transaction
 * instead (it blocks no insert referencing them: a foreign key's check takes a weaker one).
 */
export async function lockForErasure(trx: Db, id: string): Promise<void> {
  await trx.selectFrom('service_user_master').select('id').where('id', '=', id).forNoKeyUpdate().execute()
}

/** Sets a person's display name or locale; false when there is no such person, or they are erased. */
export async function updateProfile(
  db: Db,
  id: string,
  set: { display_name?: string; locale?: string | null },
): Promise<boolean> {
  const result = await db
    .updateTable('service_user_master')
    .set({ ...set, updated_at: new Date() })
    .where('id', '=', id)
    .where('erased_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/**
 * Whether the person is not erased, read under a share lock held to the end of the caller's
 * transaction: an erasure (see `lockForErasure`) waits for what the caller writes about them, so
 * its hooks find it, or commits first and this answers false. A foreign key's own check would not
 * wait: it takes a lock an erasure's does not block.
 */
export async function lockUnerased(trx: Db, id: string): Promise<boolean> {
  const row = await trx
    .selectFrom('service_user_master')
    .select('id')
    .where('id', '=', id)
    .where('erased_at', 'is', null)
    .forShare()
    .executeTakeFirst()
  return row !== undefined
}

/** Remove every personal field; the row (and every counter pointing at it) stays. */
export async function erase(db: Db, id: string): Promise<Date | undefined> {
  const row = await db
    .updateTable('service_user_master')
    .set({
      email: null,
      email_verified_at: null,
      display_name: '',
      password_hash: null,
      locale: null,
      metadata: sql`'{}'::jsonb`,
      // Nobody signs in as an erased person; nor do they count as an admin.
      role: 'participant',
      erased_at: new Date(),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .where('erased_at', 'is', null)
    .returning('erased_at')
    .executeTakeFirst()
  return row?.erased_at ?? undefined
}

/** The campaigns a person joined, oldest first: what `GET /api/auth/me` lists. */
export async function memberships(
  db: Db,
  userId: string,
): Promise<Array<Pick<MembershipRow, 'campaign_slug' | 'referral_code' | 'joined_at'>>> {
  return db
    .selectFrom('service_user_membership')
    .select(['campaign_slug', 'referral_code', 'joined_at'])
    .where('user_id', '=', userId)
    .orderBy('joined_at')
    .orderBy('campaign_slug')
    .execute()
}
