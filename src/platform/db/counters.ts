import { sql } from 'kysely'
import type { Db } from './database.js'

/**
 * Shards an occasional writer picks from at random: a burst of joins spreads over them instead of
 * queuing on one row.
 */
const SPREAD = 16

/**
 * Add to a campaign's named counters (`GET /api/campaign/{slug}/stats` sums them), inside the
 * caller's transaction so a counter moves with what it counts. One statement, keys sorted so
 * concurrent writers lock rows in one order. A counter is the sum of its shards (migration 008):
 * a commit batch passes its own (`WriteGroup.write`'s `counterShard`); other writers get a random
 * one, since each holds its row until its transaction commits.
 */
export async function addToCounters(
  db: Db,
  campaign: string,
  deltas: Record<string, number>,
  shard = Math.floor(Math.random() * SPREAD),
): Promise<void> {
  const names = Object.keys(deltas).sort()
  if (names.length === 0) return
  await db
    .insertInto('service_campaign_counter')
    .values(names.map((name) => ({ campaign_slug: campaign, name, shard, count: deltas[name]! })))
    .onConflict((oc) =>
      oc
        .columns(['campaign_slug', 'name', 'shard'])
        .doUpdateSet({ count: sql`service_campaign_counter.count + excluded.count` }),
    )
    .execute()
}
