import type { Config } from '../../config.js'
import type { Db } from '../../platform/db/database.js'
import { IN_FLIGHT_GRACE_MS } from './media.quota.js'
import * as repo from './media.repo.js'
import type { StorageAdapter } from './storage.js'

/** How often each node sweeps, besides once at start. */
export const SWEEP_INTERVAL_MS = 10 * 60_000

/** The media a storage key belongs to: keys are `{campaign}/{media_id}/{file}`. */
const mediaIdOf = (key: string) => key.split('/')[1] ?? ''

/**
 * Removes the temporary files of writes a crash (or a kill) cut short: those last written longer
 * ago than an upload URL lives, unless their upload is still in progress by its row (`uploading`
 * or `processing`, within the grace the quotas give it, as an upload begun before its URL
 * expired may outlast it). A live upload writes as its bytes come; what no one wrote to for
 * that long was left behind. Returns how many files went.
 */
export async function sweepPartials(
  deps: { db: Db; storage: StorageAdapter; config: Pick<Config, 'MEDIA_UPLOAD_TTL_SECONDS'> },
  now = new Date(),
): Promise<number> {
  const { db, storage, config } = deps
  const before = new Date(now.getTime() - config.MEDIA_UPLOAD_TTL_SECONDS * 1000)
  const stale = (await storage.stalePartials?.(before)) ?? []
  if (stale.length === 0) return 0
  const ids = [...new Set(stale.map((p) => mediaIdOf(p.key)))]
  const live = new Set(await repo.inFlight(db, ids, new Date(now.getTime() - IN_FLIGHT_GRACE_MS)))
  let removed = 0
  for (const partial of stale) {
    if (live.has(mediaIdOf(partial.key))) continue
    await partial.remove()
    removed++
  }
  return removed
}

/**
 * Runs `sweep` once before the server takes requests, then every `SWEEP_INTERVAL_MS`, one at a
 * time; `stop` waits for a sweep under way.
 */
export function createSweeper(sweep: () => Promise<number>, onError: (err: unknown) => void) {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  const run = () => {
    running ??= sweep()
      .then(
        () => {},
        (err) => onError(err),
      )
      .finally(() => {
        running = undefined
      })
    return running
  }
  return {
    async start() {
      await run()
      timer = setInterval(() => void run(), SWEEP_INTERVAL_MS)
      timer.unref()
    },
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
