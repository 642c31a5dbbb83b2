import type { Config } from '../../config.js'
import type { Db } from '../../platform/db/database.js'
import type { RealtimePublisher } from '../../realtime/publish.js'
import { publishStatus } from './media.events.js'
import { IN_FLIGHT_GRACE_MS } from './media.quota.js'
import * as repo from './media.repo.js'
import type { StorageAdapter } from './storage.js'
import { thumbnailKeyOf } from './thumbnail.js'

/** How often each node sweeps, besides once at start. */
export const SWEEP_INTERVAL_MS = 10 * 60_000

/** The media a storage key belongs to: keys are `{campaign}/{media_id}/{file}`. */
const mediaIdOf = (key: string) => key.split('/')[1] ?? ''

/** Rows failed per transaction: each batch's files are removed while its rows are held. */
const INTERRUPTED_BATCH = 100

/**
 * Fails the uploads whose process died (a crash mid-upload or mid-thumbnail): those left
 * `uploading` or `processing` past the grace the quotas give them, by their URL's expiry and the
 * last write of their row (a heartbeat while bytes arrive), so a slow upload still alive is never
 * one of them. Each goes `failed` with `interrupted`, without its files, freeing its quota, and its
 * uploader hears so. Nodes sweeping at once fail each row once; a file removal that fails keeps
 * its batch for the next sweep. Returns how many uploads failed.
 */
export async function failInterrupted(
  deps: { db: Db; storage: StorageAdapter; publisher: RealtimePublisher },
  graceMs = IN_FLIGHT_GRACE_MS,
): Promise<number> {
  const { db, storage, publisher } = deps
  let failed = 0
  for (;;) {
    const rows = await db.transaction().execute(async (trx) => {
      const rows = await repo.failInterrupted(trx, graceMs, INTERRUPTED_BATCH)
      // Committed files only: what was still being written is a `.part` file, `sweepPartials`'.
      for (const row of rows) {
        for (const key of [row.storage_key, thumbnailKeyOf(row)]) await storage.remove(key)
      }
      return rows
    })
    for (const row of rows) await publishStatus(publisher, row, 'failed', { reason: 'interrupted' })
    failed += rows.length
    if (rows.length < INTERRUPTED_BATCH) return failed
  }
}

/**
 * Removes the files uploads that failed could not remove then (the storage refusing: see
 * `repo.fail`), and forgets them; one the storage still refuses stays for the next sweep. Nodes
 * sweeping at once take each row once. Returns how many uploads' files went.
 */
export async function removeLeftovers(deps: { db: Db; storage: StorageAdapter }): Promise<number> {
  const { db, storage } = deps
  let removed = 0
  for (;;) {
    const { done, batch } = await db.transaction().execute(async (trx) => {
      const rows = await repo.withLeftovers(trx, INTERRUPTED_BATCH)
      let done = 0
      for (const row of rows) {
        try {
          for (const key of repo.leftoverKeys(row)) await storage.remove(key)
        } catch {
          continue
        }
        await repo.clearLeftovers(trx, row.id)
        done++
      }
      return { done, batch: rows.length }
    })
    removed += done
    // A batch the storage refused in part is left for the next sweep, not tried again now.
    if (batch < INTERRUPTED_BATCH || done < batch) return removed
  }
}

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
