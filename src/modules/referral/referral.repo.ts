import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { ReferralState } from '../../platform/db/tables.js'
import { type Campaign, metadataFromColumn } from '../campaign/campaign.schema.js'

/**
 * Count one more referral for (code, IP) unless the cap is reached; false when it is. One
 * statement, so concurrent applies from one IP cannot both slip under the cap.
 */
export async function bumpIpCount(
  trx: Db,
  row: { campaign_slug: string; code: string; ip_hash: string },
  cap: number,
): Promise<boolean> {
  const result = await trx
    .insertInto('service_referral_ipcount')
    .values({ ...row, count: 1 })
    .onConflict((oc) =>
      oc
        .columns(['campaign_slug', 'code', 'ip_hash'])
        .doUpdateSet({ count: sql`service_referral_ipcount.count + 1` })
        .where('service_referral_ipcount.count', '<', cap),
    )
    .returning('count')
    .executeTakeFirst()
  return result !== undefined
}

export async function findByReferred(db: Db, campaign: string, referredId: string) {
  return db
    .selectFrom('service_referral_main')
    .select(['id', 'code', 'referrer_id', 'state'])
    .where('campaign_slug', '=', campaign)
    .where('referred_id', '=', referredId)
    .executeTakeFirst()
}

/**
 * Serialises referrals between these two people in this campaign (either direction) until the
 * transaction ends, so two people applying each other's codes at once cannot both succeed.
 */
export async function lockPair(trx: Db, campaign: string, a: string, b: string): Promise<void> {
  const [first, second] = [a, b].sort()
  await sql`select pg_advisory_xact_lock(hashtextextended(${`referral-pair:${campaign}:${first}:${second}`}, 0))`.execute(
    trx,
  )
}

/**
 * Serialises what decides a person's referral (in any campaign): an apply, the qualifying
 * action's check, their erasure. In a transaction it is held until the transaction ends; run on
 * its own (no transaction) it only waits for whichever transaction holds it, so what that one
 * committed is visible to the caller's next statement.
 */
export async function lockPerson(q: Db, userId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`referral-person:${userId}`}, 0))`.execute(q)
}

/**
 * Whether the person was erased, as committed now (read in the caller's transaction, after
 * `lockPerson`: an erasure that held the lock has committed by then).
 */
export async function isErased(trx: Db, userId: string): Promise<boolean> {
  const row = await trx
    .selectFrom('service_user_master')
    .select('erased_at')
    .where('id', '=', userId)
    .executeTakeFirst()
  return !row || row.erased_at !== null
}

/**
 * Serialises referrals of one mailbox (`mailbox`: its key, see the service) until the transaction
 * ends, so two accounts of it applying at once cannot both be referred.
 */
export async function lockMailbox(trx: Db, mailbox: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`referral-mailbox:${mailbox}`}, 0))`.execute(trx)
}

/**
 * Whether an account of this mailbox was referred (its key names the campaign). By the GIN index
 * on `metadata`, the only condition: never a scan of the campaign's referrals.
 */
export async function mailboxReferred(db: Db, mailbox: string): Promise<boolean> {
  const row = await db
    .selectFrom('service_referral_main')
    .select('id')
    .where(sql<boolean>`metadata @> ${JSON.stringify({ mailbox })}::jsonb`)
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Undefined when this person already has a referral in the campaign. `mailbox` (the referred
 * person's, see `mailboxReferred`) is kept in `metadata` until they are erased.
 */
export async function insertReferral(
  trx: Db,
  row: { campaign_slug: string; code: string; referrer_id: string; referred_id: string; ip_hash: string },
  mailbox: string,
): Promise<number | undefined> {
  const inserted = await trx
    .insertInto('service_referral_main')
    .values({ ...row, state: 'pending', metadata: JSON.stringify({ mailbox }), updated_at: new Date() })
    .onConflict((oc) => oc.columns(['campaign_slug', 'referred_id']).doNothing())
    .returning('id')
    .executeTakeFirst()
  return inserted ? Number(inserted.id) : undefined
}

/** Move a referral out of `from`; false when another writer moved it first. */
export async function transition(
  trx: Db,
  id: number,
  from: ReferralState,
  to: ReferralState,
  reason: string | null,
): Promise<boolean> {
  const moved = await trx
    .updateTable('service_referral_main')
    .set({ state: to, reason, updated_at: new Date() })
    .where('id', '=', id)
    .where('state', '=', from)
    .returning('id')
    .executeTakeFirst()
  return moved !== undefined
}

/** The person's pending referral; with `lock`, row-locked until the transaction ends. */
export async function pendingFor(
  db: Db,
  campaign: string,
  referredId: string,
  opts: { lock?: boolean } = {},
) {
  const q = db
    .selectFrom('service_referral_main')
    .select(['id', 'code', 'referrer_id'])
    .where('campaign_slug', '=', campaign)
    .where('referred_id', '=', referredId)
    .where('state', '=', 'pending')
  return (opts.lock ? q.forUpdate() : q).executeTakeFirst()
}

export async function audit(
  db: Db,
  row: {
    campaign_slug: string
    referral_id: number | null
    code: string
    actor: string
    from_state: string | null
    to_state: string
    reason?: string | null
  },
): Promise<void> {
  await db
    .insertInto('service_referral_audit')
    .values({ ...row, reason: row.reason ?? null })
    .execute()
}

/**
 * A refused attempt, under the person's lock (`lockPerson`, taken here: run it in a transaction):
 * what they typed is left out when they were erased. An attempt refused because its person was
 * erased meanwhile is written after the erasure blanked the others (`forgetAttempts`).
 */
export async function auditRefused(
  trx: Db,
  row: { campaign_slug: string; code: string; actor: string; reason: string },
): Promise<void> {
  await lockPerson(trx, row.actor)
  const erased = await trx
    .selectFrom('service_user_master')
    .select('id')
    .where('id', '=', row.actor)
    .where('erased_at', 'is not', null)
    .executeTakeFirst()
  await audit(trx, {
    ...row,
    code: erased ? '' : row.code,
    referral_id: null,
    from_state: null,
    to_state: 'refused',
  })
}

/** Newest first; with `before`, only entries older than that id (the last one of a page read). */
export async function listAudit(db: Db, campaign: string, limit: number, before?: number) {
  let q = db
    .selectFrom('service_referral_audit')
    .select(['id', 'referral_id', 'code', 'actor', 'from_state', 'to_state', 'reason', 'at'])
    .where('campaign_slug', '=', campaign)
  if (before !== undefined) q = q.where('id', '<', before)
  return q.orderBy('id', 'desc').limit(limit).execute()
}

/**
 * When a referrer reached their count: the leaderboard's tie-break, so by the database's clock,
 * which every node shares (a node's own clock may run ahead of another's and reorder ties).
 */
const reachedAt = sql<Date>`clock_timestamp()`

/**
 * `qualified + 1` for the referrer, atomically, unless `max` is reached (undefined then). The
 * returned count is the one this transaction produced: no two transactions see the same value.
 */
export async function incrementQualified(
  trx: Db,
  campaign: string,
  userId: string,
  max: number | null,
): Promise<number | undefined> {
  // A first referral makes the row with a count of 1, which a max below 1 does not allow.
  if (max !== null && max < 1) return undefined
  const row = await trx
    .insertInto('service_referral_counter')
    .values({ campaign_slug: campaign, user_id: userId, qualified: 1, pending: 0, updated_at: reachedAt })
    .onConflict((oc) => {
      const update = oc.columns(['campaign_slug', 'user_id']).doUpdateSet({
        qualified: sql`service_referral_counter.qualified + 1`,
        updated_at: reachedAt,
      })
      return max === null ? update : update.where('service_referral_counter.qualified', '<', max)
    })
    .returning('qualified')
    .executeTakeFirst()
  return row?.qualified
}

/** Adjust the pending counter by `delta` (+1 on apply, -1 when resolved), never below zero. */
export async function addPending(trx: Db, campaign: string, userId: string, delta: 1 | -1): Promise<void> {
  await trx
    .insertInto('service_referral_counter')
    .values({ campaign_slug: campaign, user_id: userId, qualified: 0, pending: Math.max(delta, 0) })
    .onConflict((oc) =>
      oc.columns(['campaign_slug', 'user_id']).doUpdateSet({
        pending: sql`greatest(service_referral_counter.pending + ${delta}, 0)`,
      }),
    )
    .execute()
}

export async function qualifiedCount(db: Db, campaign: string, userId: string): Promise<number> {
  const row = await db
    .selectFrom('service_referral_counter')
    .select('qualified')
    .where('campaign_slug', '=', campaign)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return row?.qualified ?? 0
}

/** A claimed milestone, as its announcement needs it. */
export interface MilestoneRow {
  campaign_slug: string
  user_id: string
  threshold: number
  /** The referrer's qualified referrals when it was reached. */
  count: number
  reached_at: Date
}

/** `now() + ms` by the database's clock: leases never depend on a node's clock. */
const inMs = (ms: number) => sql<Date>`clock_timestamp() + (${ms}::int * interval '1 millisecond')`

/**
 * Record the threshold `count` reaches, if it is one. Only that one: the count moves by one per
 * transaction, so nothing else was crossed here, and a threshold added below a referrer's count
 * was passed before it existed (announcing it now would say "Ada now has 5" of someone at 40).
 * ON CONFLICT DO NOTHING on the (campaign, user, threshold) key means exactly one transaction, on
 * any node, gets the row back. It starts unannounced, leased to this transaction's request for
 * `leaseMs` (see referral.milestones.ts): a sweep takes it over only once that has run out.
 */
export async function claimMilestones(
  trx: Db,
  campaign: string,
  userId: string,
  thresholds: number[],
  count: number,
  leaseMs: number,
): Promise<MilestoneRow[]> {
  const reached = thresholds.filter((t) => t === count)
  if (reached.length === 0) return []
  const rows = await trx
    .insertInto('service_referral_milestone')
    .values(
      reached.map((threshold) => ({
        campaign_slug: campaign,
        user_id: userId,
        threshold,
        count,
        announced_at: null,
        announce_after: inMs(leaseMs),
      })),
    )
    .onConflict((oc) => oc.columns(['campaign_slug', 'user_id', 'threshold']).doNothing())
    .returning(['campaign_slug', 'user_id', 'threshold', 'count', 'reached_at'])
    .execute()
  return rows.sort((a, b) => a.threshold - b.threshold)
}

/**
 * Lease up to `limit` milestones committed but not announced whose lease ran out, for `leaseMs`.
 * One statement, and `FOR UPDATE SKIP LOCKED`: sweeps on several nodes pass over the rows another
 * is claiming, and a row claimed meanwhile no longer matches (its lease moved on).
 */
export async function claimUnannounced(db: Db, limit: number, leaseMs: number): Promise<MilestoneRow[]> {
  const res = await sql<MilestoneRow>`
    update service_referral_milestone m
    set announce_after = ${inMs(leaseMs)}
    where (m.campaign_slug, m.user_id, m.threshold) in (
      select d.campaign_slug, d.user_id, d.threshold from service_referral_milestone d
      where d.announced_at is null and d.announce_after <= now()
      order by d.announce_after
      limit ${limit}
      for update skip locked
    )
    returning m.campaign_slug, m.user_id, m.threshold, m.count, m.reached_at
  `.execute(db)
  return res.rows
}

/** The milestone's announcement went out (or has nothing to say): no sweep takes it again. */
export async function markAnnounced(
  db: Db,
  row: Pick<MilestoneRow, 'campaign_slug' | 'user_id' | 'threshold'>,
): Promise<void> {
  await db
    .updateTable('service_referral_milestone')
    .set({ announced_at: sql<Date>`now()` })
    .where('campaign_slug', '=', row.campaign_slug)
    .where('user_id', '=', row.user_id)
    .where('threshold', '=', row.threshold)
    .where('announced_at', 'is', null)
    .execute()
}

/**
 * Top referrers by qualified referrals; ties go to whoever got there first. Erased people keep
 * their counters but are skipped here, by the database: anyone can make erased referrers (join,
 * be referred by a second account, erase the first), and skipping them a page of names at a time
 * made every read of a board they top (every second, on every node holding its sockets) a scan.
 */
export async function topReferrers(db: Db, campaign: string, limit: number, offset = 0) {
  return db
    .selectFrom('service_referral_counter as c')
    .select(['c.user_id', 'c.qualified'])
    .where('c.campaign_slug', '=', campaign)
    .where('c.qualified', '>', 0)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('service_user_master as u')
            .select(sql.lit(1).as('one'))
            .whereRef('u.id', '=', 'c.user_id')
            .where('u.erased_at', 'is not', null),
        ),
      ),
    )
    .orderBy('c.qualified', 'desc')
    .orderBy('c.updated_at', 'asc')
    .orderBy('c.user_id', 'asc')
    .limit(limit)
    .offset(offset)
    .execute()
}

/**
 * Erasure: the address hash (and mailbox key) of the person's own referral goes (a hash of an IPv4 address is as
 * good as the address: there are only 2^32). The referral and every counter stay (a pending one
 * is rejected: see `rejectPendingOf`), the per-code per-network counts too: they name no one, and
 * they are the fraud cap (`max_referrals_per_ip`). Taking the erased person's unit out would hand
 * their network a slot back per erasure, and joining, qualifying and erasing in a loop would beat
 * the cap while the referrer kept every qualified referral.
 */
export async function forgetAddress(trx: Db, referredId: string): Promise<void> {
  await trx
    .updateTable('service_referral_main')
    // The mailbox key too: a hash of their address.
    .set({ ip_hash: '', metadata: sql`metadata - 'mailbox'` })
    .where('referred_id', '=', referredId)
    // A second erasure (hooks run again) rewrites nothing: no dead row versions.
    .where((eb) => eb.or([eb('ip_hash', '<>', ''), sql<boolean>`(metadata -> 'mailbox') is not null`]))
    .execute()
}

/**
 * Erasure: what the person typed in their refused attempts (any text of 4 to 32 characters: an
 * email address, a phone number) goes; the refusals stay, with their reason and time. (The
 * attempts that made a referral hold the referrer's code, which is not the person's.)
 */
export async function forgetAttempts(trx: Db, actor: string): Promise<void> {
  await trx
    .updateTable('service_referral_audit')
    .set({ code: '' })
    .where('actor', '=', actor)
    .where('to_state', '=', 'refused')
    .where('code', '!=', '')
    .execute()
}

/**
 * Erasure: the person's pending referrals (any campaign) rejected with `reason`, as one
 * statement (a row a concurrent qualification holds is waited for, then skipped if it moved on).
 * What each was, for the referrer's pending count and the audit trail.
 */
export async function rejectPendingOf(trx: Db, referredId: string, reason: string) {
  const rows = await trx
    .updateTable('service_referral_main')
    .set({ state: 'rejected', reason, updated_at: new Date() })
    .where('referred_id', '=', referredId)
    .where('state', '=', 'pending')
    .returning(['id', 'campaign_slug', 'code', 'referrer_id'])
    .execute()
  return rows.map((r) => ({ ...r, id: Number(r.id) }))
}

/**
 * The campaign as committed now, not a node's cached copy. With `share`, share-locked until the
 * transaction ends: a change to it waits for the recheck batch reading it, so no batch qualifies
 * under a rule already replaced. (Read here rather than through the campaign service, whose
 * copy may be seconds old.)
 */
export async function campaignNow(
  db: Db,
  slug: string,
  opts: { share?: boolean } = {},
): Promise<Pick<Campaign, 'version' | 'metadata'> | undefined> {
  const q = db.selectFrom('service_campaign_main').select(['version', 'metadata']).where('slug', '=', slug)
  const row = await (opts.share ? q.forShare() : q).executeTakeFirst()
  // A column that holds no object (JSON null, a string, an array) reads as `{}`, as campaigns do.
  return row && { version: row.version, metadata: metadataFromColumn(row.metadata) }
}

/** Campaigns changed since their referral rule was last looked at, or never looked at. */
export async function campaignsToLookAt(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('service_campaign_main as c')
    .leftJoin('service_referral_recheck as r', 'r.campaign_slug', 'c.slug')
    .select('c.slug')
    .where((eb) =>
      eb.or([eb('r.campaign_slug', 'is', null), eb('r.campaign_version', '<', eb.ref('c.version'))]),
    )
    .orderBy('c.slug')
    .limit(limit)
    .execute()
  return rows.map((r) => r.slug)
}

/**
 * Record that campaign `slug` at `version` qualifies referrals on `on` (null: referrals are off).
 * Only a newer version than the one recorded moves the row. A rule other than the recorded one
 * starts two passes over the pending referrals from the first (none while off); the first look
 * at a campaign starts one. True when a pass is due.
 */
export async function recordRule(db: Db, slug: string, version: number, on: string | null): Promise<boolean> {
  const { rows } = await sql<{ passes_left: number }>`
    insert into service_referral_recheck as r
      (campaign_slug, campaign_version, qualifies_on, after_id, passes_left, due_at, updated_at)
    values (${slug}, ${version}, ${on}, 0, ${on === null ? 0 : 1}, now(), now())
    on conflict (campaign_slug) do update set
      campaign_version = excluded.campaign_version,
      qualifies_on = excluded.qualifies_on,
      after_id = case when r.qualifies_on is distinct from excluded.qualifies_on then 0 else r.after_id end,
      passes_left = case
        when r.qualifies_on is not distinct from excluded.qualifies_on then r.passes_left
        when excluded.qualifies_on is null then 0
        else 2 end,
      due_at = case when r.qualifies_on is distinct from excluded.qualifies_on then now() else r.due_at end,
      updated_at = now()
    where r.campaign_version < excluded.campaign_version
    returning r.passes_left
  `.execute(db)
  return (rows[0]?.passes_left ?? 0) > 0
}

/** Campaigns with a recheck pass due now. */
export async function dueRechecks(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('service_referral_recheck')
    .select('campaign_slug')
    .where('passes_left', '>', 0)
    .where('due_at', '<=', sql<Date>`now()`)
    .orderBy('due_at')
    .limit(limit)
    .execute()
  return rows.map((r) => r.campaign_slug)
}

/**
 * The campaign's recheck when a pass is due, row-locked until the transaction ends; undefined
 * when none is due or another node's batch holds it (`SKIP LOCKED`: that one goes on).
 */
export async function lockRecheck(trx: Db, slug: string) {
  return trx
    .selectFrom('service_referral_recheck')
    .select(['campaign_version', 'qualifies_on', 'after_id', 'passes_left'])
    .where('campaign_slug', '=', slug)
    .where('passes_left', '>', 0)
    .where('due_at', '<=', sql<Date>`now()`)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst()
}

/** After a batch: go on after `afterId`, or (null) end this pass; the next one is due `settleMs` later. */
export async function advanceRecheck(
  trx: Db,
  slug: string,
  afterId: number | null,
  settleMs: number,
): Promise<void> {
  await trx
    .updateTable('service_referral_recheck')
    .set(
      afterId === null
        ? {
            after_id: 0,
            passes_left: sql<number>`passes_left - 1`,
            due_at: sql<Date>`now() + ${`${settleMs} milliseconds`}::interval`,
            updated_at: new Date(),
          }
        : { after_id: afterId, updated_at: new Date() },
    )
    .where('campaign_slug', '=', slug)
    .execute()
}

/**
 * Up to `limit` pending referrals after id `afterId`, in id order, row-locked; `erased` when the
 * referred person was (before erasures rejected their pending referral, or by one committing now).
 */
export async function pendingAfter(trx: Db, campaign: string, afterId: number, limit: number) {
  const rows = await trx
    .selectFrom('service_referral_main')
    .select(['id', 'code', 'referrer_id', 'referred_id'])
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('service_user_master as u')
            .select('u.id')
            .whereRef('u.id', '=', 'service_referral_main.referred_id')
            .where('u.erased_at', 'is not', null),
        )
        .as('erased'),
    )
    .where('campaign_slug', '=', campaign)
    .where('state', '=', 'pending')
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .forUpdate()
    .execute()
  return rows.map((r) => ({ ...r, id: Number(r.id) }))
}

/**
 * Which of `userIds` did an action sent as one of `events` in the campaign (the Nexus log of
 * actions that succeeded; read here, as the referral rule names what it logs).
 */
export async function whoDid(db: Db, campaign: string, userIds: string[], events: string[]) {
  if (userIds.length === 0 || events.length === 0) return new Set<string>()
  const rows = await db
    .selectFrom('service_analytics_event')
    .select('user_id')
    .distinct()
    .where('user_id', 'in', userIds)
    .where('campaign_slug', '=', campaign)
    .where('event', 'in', events)
    .execute()
  return new Set(rows.map((r) => r.user_id))
}

/**
 * Campaigns whose recorded rule (see `recordRule`) is an action, after `afterSlug`: not off, and
 * none of `atApply` (rules met by the apply itself).
 */
export async function campaignsOnActions(
  db: Db,
  atApply: readonly string[],
  afterSlug: string,
  limit: number,
) {
  const rows = await db
    .selectFrom('service_referral_recheck')
    .select('campaign_slug')
    .where('qualifies_on', 'is not', null)
    .where('qualifies_on', 'not in', atApply)
    .where('campaign_slug', '>', afterSlug)
    .orderBy('campaign_slug')
    .limit(limit)
    .execute()
  return rows.map((r) => r.campaign_slug)
}

/**
 * The campaign's recheck row, locked until the transaction ends, for its catch-up; undefined when
 * another transaction holds it (`SKIP LOCKED`: another node's catch-up, or a recheck batch, whose
 * pass qualifies whatever the catch-up would). `since`: when the last catch-up that finished
 * started (null: never), by the database's clock, as `now`. Locked before any referral, as the
 * recheck batches lock it: neither waits on the other holding what it needs next.
 */
export async function lockCatchUp(trx: Db, slug: string) {
  const { rows } = await sql<{ since: Date | null; now: Date }>`
    select caught_up_at as since, now() as now from service_referral_recheck
    where campaign_slug = ${slug}
    for update skip locked
  `.execute(trx)
  const row = rows[0]
  return row && { since: row.since && new Date(row.since), now: new Date(row.now) }
}

/**
 * Up to `limit` pending referrals of the campaign, in id order and row-locked, whose person sent
 * one of `events` received at `since` or later (any time when null) and was not erased.
 */
export async function pendingWhoDidSince(
  trx: Db,
  slug: string,
  events: string[],
  since: Date | null,
  limit: number,
) {
  if (events.length === 0) return []
  const { rows } = await sql<{ id: string | number; code: string; referrer_id: string; referred_id: string }>`
    select r.id, r.code, r.referrer_id, r.referred_id from service_referral_main r
    where r.campaign_slug = ${slug} and r.state = 'pending'
      and exists (
        select 1 from service_analytics_event e
        where e.user_id = r.referred_id and e.campaign_slug = r.campaign_slug
          and e.event in (${sql.join(events)})
          ${since ? sql`and e.received_at >= ${since}` : sql``}
      )
      and not exists (
        select 1 from service_user_master u where u.id = r.referred_id and u.erased_at is not null
      )
    order by r.id
    limit ${limit}
    for update of r
  `.execute(trx)
  return rows.map((r) => ({ ...r, id: Number(r.id) }))
}

/** The campaign's catch-up finished what was committed before `at` (never moves back). */
export async function caughtUp(db: Db, slug: string, at: Date): Promise<void> {
  await sql`
    update service_referral_recheck set caught_up_at = ${at}
    where campaign_slug = ${slug} and (caught_up_at is null or caught_up_at < ${at})
  `.execute(db)
}
