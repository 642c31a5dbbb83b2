import type { Db } from '../../platform/db/database.js'
import * as repo from './localization.repo.js'

/** How often each node sweeps the translation cache, besides once at start. */
export const CACHE_SWEEP_INTERVAL_MS = 10 * 60_000
/** Rows one statement deletes: short statements, short locks. */
const SWEEP_BATCH = 1000
/** Rows one sweep deletes at most: a backlog (a first sweep after upgrade) goes over several sweeps. */
export const SWEEP_MAX_ROWS = 10_000
/**
 * How stale `used_at` may get before a hit writes it again: the retention is counted in days, so
 * a day's precision costs one write per row per day instead of one per hit.
 */
export const USED_AT_PRECISION_MS = 86_400_000

const DAY_MS = 86_400_000

/**
 * Removes cached translations that answered nothing for `retentionDays` days, at most `maxRows`
 * per call, in short batches. Nodes sweeping at once delete each row once. Returns how many went.
 */
export async function sweepTranslationCache(
  db: Db,
  retentionDays: number,
  options: { now?: Date; maxRows?: number } = {},
): Promise<number> {
  const now = options.now ?? new Date()
  const maxRows = options.maxRows ?? SWEEP_MAX_ROWS
  const before = new Date(now.getTime() - retentionDays * DAY_MS)
  let removed = 0
  while (removed < maxRows) {
    const limit = Math.min(SWEEP_BATCH, maxRows - removed)
    const deleted = await repo.deleteUnused(db, before, limit)
    removed += deleted
    if (deleted < limit) break
  }
  return removed
}
