import { type Kysely, sql } from 'kysely'

/**
 * Campaign counters split into shards. Every commit batch adds to the same few counters
 * (`events_total`, `event:<name>`), and a row lock is held until COMMIT: with one row per counter,
 * concurrent batches queued behind each other's WAL flush. Each in-flight batch now writes its own
 * shard, so their commits overlap; a counter's value is the sum of its shards.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('service_campaign_counter')
    .addColumn('shard', 'smallint', (c) => c.notNull().defaultTo(0))
    .execute()
  await db.schema
    .alterTable('service_campaign_counter')
    .dropConstraint('service_campaign_counter_pk')
    .execute()
  await db.schema
    .alterTable('service_campaign_counter')
    .addPrimaryKeyConstraint('service_campaign_counter_pk', ['campaign_slug', 'name', 'shard'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    with folded as (
      delete from service_campaign_counter where shard <> 0 returning campaign_slug, name, count
    )
    insert into service_campaign_counter (campaign_slug, name, shard, count)
    select campaign_slug, name, 0, sum(count) from folded group by campaign_slug, name
    on conflict (campaign_slug, name, shard)
      do update set count = service_campaign_counter.count + excluded.count
  `.execute(db)
  await db.schema
    .alterTable('service_campaign_counter')
    .dropConstraint('service_campaign_counter_pk')
    .execute()
  await db.schema
    .alterTable('service_campaign_counter')
    .addPrimaryKeyConstraint('service_campaign_counter_pk', ['campaign_slug', 'name'])
    .execute()
  await db.schema.alterTable('service_campaign_counter').dropColumn('shard').execute()
}
