import { type Kysely, sql } from 'kysely'

/**
 * Campaign live streams are read by their owner (`owner_id`, the person who started one): an
 * erasure ends and strips every stream of the person (`eraseOwner`, two updates inside the
 * erasure's transaction) and `stream.start` counts the person's open streams in a campaign
 * (`openByOwner`, under the per-person lock). With no index on `owner_id` the erasure read the
 * whole registry twice while it held its locks, and the count read every open stream of the
 * campaign. Partial: registry rows that are not campaign streams (most of them) have no owner and
 * are not in it; erased rows leave it. `campaign_slug` second, so the count is one range.
 *
 * A plain `create index` (migrations run in one transaction, where `concurrently` cannot): writes
 * to the registry wait while it is built; on a very large registry, build it concurrently by hand
 * first with this name and definition, and this migration finds it (`if not exists`).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index if not exists service_stream_main_owner
            on service_stream_main (owner_id, campaign_slug) where owner_id is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists service_stream_main_owner`.execute(db)
}
