import { type Kysely, sql } from 'kysely'

/**
 * Erasure finds a person's referral rows by the person (see `forget` in referral.service.ts).
 * `forgetAddress` and `rejectPendingOf` look up `service_referral_main` by `referred_id` in every
 * campaign, which the unique (campaign_slug, referred_id) index cannot serve; `forgetAttempts`
 * looks up the person's refused attempts in `service_referral_audit` by `actor`, which had no
 * index. Each erasure was a scan of both tables (rows locked as the scan went). Only refused
 * attempts hold what a person typed, so that index holds only them.
 *
 * A plain `create index`, as the earlier index migrations: migrations run in one transaction, where
 * `create index concurrently` cannot. Writes to each table wait while its index is built (reads
 * go on); on a very large deployment, build them concurrently by hand first, with these names and
 * definitions, and this migration then finds them (`if not exists`; drop one a failed concurrent
 * build left invalid first).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index if not exists service_referral_main_referred_id
            on service_referral_main (referred_id)`.execute(db)
  await sql`create index if not exists service_referral_audit_refused_actor
            on service_referral_audit (actor) where to_state = 'refused'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists service_referral_audit_refused_actor`.execute(db)
  await sql`drop index if exists service_referral_main_referred_id`.execute(db)
}
