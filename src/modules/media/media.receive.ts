import type { IncomingMessage } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { fileTypeFromBuffer } from 'file-type'
import type { Db } from '../../platform/db/database.js'
import {
  AppError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  UnsupportedMediaTypeError,
} from '../../platform/http/errors.js'
import { BodyTooSlowError, type RequestTimeoutError, whenBodyIdle } from '../../platform/http/timeouts.js'
import type { RealtimePublisher } from '../../realtime/publish.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import { LOCATED_TYPES, withoutLocation } from './location.js'
import { publishStatus } from './media.events.js'
import { claimStored, HEARTBEAT_MS, ownerScope, type People, type QuotaConfig } from './media.quota.js'
import * as repo from './media.repo.js'
import { fileTooLarge, sizeMismatch } from './sizes.js'
import { allowedTypes, normaliseType } from './media.rules.js'
import { type MediaResponse, THUMBNAIL_TYPES } from './media.schema.js'
import { UploadMeter } from './meter.js'
import type { UploadSigner } from './signing.js'
import type { StorageAdapter, StorageWrite } from './storage.js'
import { STRIPPED_TYPES, type Stripped, withoutMetadata } from './strip.js'
import { makeThumbnail, storeBytes, type Thumbnail, thumbnailKeyOf } from './thumbnail.js'

/** 503 `STORAGE_UNAVAILABLE`: the storage failed (`cause`, logged, never answered); try again later. */
export const storageUnavailable = (cause: unknown) =>
  new AppError(503, 'STORAGE_UNAVAILABLE', 'The file could not be stored; try again later', { cause })

/** A read the storage refused while an upload was processed: told apart from a file not decoded. */
class StorageReadFailed extends Error {}

/** `storage`, whose reads that fail to open (a bucket answering errors) throw `StorageReadFailed`. */
function readsMarked(storage: StorageAdapter): StorageAdapter {
  return {
    ...storage,
    read: (key, range) =>
      storage.read(key, range).catch((err: unknown) => {
        throw new StorageReadFailed(`reading ${key} failed`, { cause: err })
      }),
  }
}

/**
 * `PUT upload_url`: streams the body to storage, then checks, measures and publishes it. Every
 * path ends the upload `ready` or `failed` (with its bytes removed, or, those the storage would
 * not remove then, named on its row for the sweep), whatever happens meanwhile to its campaign or
 * its row.
 */
export function createReceiver(deps: {
  db: Db
  storage: StorageAdapter
  signer: UploadSigner
  publisher: RealtimePublisher
  campaigns: Pick<CampaignService, 'find'>
  config: QuotaConfig
  /** The sessions a person continued, whose guest uploads share their quota (see `ownerScope`). */
  people?: People
  toResponse(row: repo.MediaRow): MediaResponse
  /** How often an upload whose bytes arrive writes its row (default `HEARTBEAT_MS`). */
  heartbeatMs?: number
}): (token: string, body: IncomingMessage) => Promise<MediaResponse> {
  const { db, storage, signer, publisher, campaigns, config, toResponse } = deps
  /** What processing reads the stored bytes through (see `readsMarked`). */
  const stored = readsMarked(storage)
  const heartbeatMs = deps.heartbeatMs ?? HEARTBEAT_MS

  return async function receive(token: string, body: IncomingMessage): Promise<MediaResponse> {
    const id = signer.verify(token)
    // What many upload libraries send by default: the file wrapped in a form, whose bytes would be
    // taken for a file of an unknown type once all had come. Refused before the URL is used, so
    // the client can send the bytes themselves to it.
    if (/^\s*multipart\/form-data\b/i.test(body.headers['content-type'] ?? '')) {
      throw new UnsupportedMediaTypeError(
        "Send the file's bytes as the request body, not a form (multipart/form-data)",
        'FORM_UPLOAD_NOT_ACCEPTED',
        { connection: 'close' },
      )
    }
    const claimed = await repo.claim(db, id)
    if (!claimed) {
      const existing = await repo.find(db, id)
      if (!existing) throw new NotFoundError('No such upload', 'MEDIA_NOT_FOUND')
      throw new ConflictError('This upload URL has already been used', 'UPLOAD_URL_USED')
    }
    const row = claimed
    const emit = (status: string, extra: Record<string, unknown> = {}) =>
      publishStatus(publisher, row, status, extra)
    const thumbnailKey = thumbnailKeyOf(row)
    /** Removes the files at `keys`, answering those the storage would not remove. */
    const removeAll = async (keys: string[]) => {
      const left: string[] = []
      for (const key of keys) await storage.remove(key).catch(() => left.push(key))
      return left
    }
    let ended = false
    /** Ends the upload `failed`, without the bytes it kept (`keys`), and answers `err`. */
    const fail = async (reason: string, err: AppError, keys: string[] = []): Promise<never> => {
      ended = true
      await repo.fail(db, id, reason, await removeAll(keys))
      void emit('failed', { reason })
      // The rest of the body may be unread: close the connection after answering.
      throw new AppError(err.statusCode, err.code, err.message, {
        cause: err.cause,
        details: err.details,
        headers: { connection: 'close' },
      })
    }
    const campaignGone = (keys: string[]) =>
      fail(
        'campaign_deleted',
        new NotFoundError(`Campaign ${row.campaign_slug} no longer exists`, 'CAMPAIGN_NOT_FOUND'),
        keys,
      )
    /** The row was deleted while its bytes came: they go too. */
    const deleted = async (): Promise<never> => {
      ended = true
      for (const key of [row.storage_key, thumbnailKey]) await storage.remove(key).catch(() => {})
      void emit('failed', { reason: 'deleted' })
      throw new NotFoundError('This upload was deleted', 'MEDIA_NOT_FOUND')
    }

    /** Checks, measures and publishes the stored bytes. */
    const finish = async (size: number, sha256: string, head: Buffer): Promise<MediaResponse> => {
      const measured = { status: 'processing' as const, size_bytes: size, sha256 }
      if (!(await repo.advance(db, id, 'uploading', measured))) return deleted()
      void emit('processing')
      // The campaign may have been deleted while the bytes came.
      const campaign = await campaigns.find(row.campaign_slug)
      if (!campaign) return campaignGone([row.storage_key])
      // Without parameters: Ogg Opus is detected as `audio/ogg; codecs=opus`.
      const detected = size > 0 ? (await fileTypeFromBuffer(head))?.mime : undefined
      const actual = detected === undefined ? undefined : normaliseType(detected)
      if (!actual || actual !== row.declared_type || !allowedTypes(campaign).includes(actual)) {
        return fail(
          'type_mismatch',
          new UnsupportedMediaTypeError(
            `The file is ${actual ?? 'of an unknown type'}, not the declared ${row.declared_type}`,
            'MEDIA_TYPE_MISMATCH',
          ),
          [row.storage_key],
        )
      }
      let dims: { width: number | null; height: number | null } = { width: null, height: null }
      let derived = 0
      // What is published: the bytes as uploaded, or as re-encoded without their metadata.
      let published = { size_bytes: size, sha256 }
      if (LOCATED_TYPES.has(actual)) {
        // Where a recording was made goes in place (same size): no quota to claim, only a new hash.
        try {
          const relocated = await withoutLocation(storage, row.storage_key, actual, size)
          if (relocated) published = { size_bytes: size, sha256: relocated.sha256 }
        } catch (err) {
          // Deleted meanwhile (its original went first), not a storage failure.
          if (!(await repo.find(db, id))) return deleted()
          // It throws only when the storage fails (a file it cannot walk is published as it is).
          return fail('storage_error', storageUnavailable(err), [row.storage_key])
        }
      }
      const thumb = THUMBNAIL_TYPES.has(actual) ? thumbnailKey : null
      if (thumb) {
        let made: Thumbnail
        let stripped: Stripped | undefined
        try {
          // An animated PNG is stored as the PNG it is, but is cleaned as what it is detected as.
          const strip = detected === 'image/apng' ? detected : actual
          if (STRIPPED_TYPES.has(strip)) stripped = await withoutMetadata(stored, row.storage_key, strip)
          made = await makeThumbnail(stored, row.storage_key)
        } catch (err) {
          // Deleted meanwhile (its original went first), not a bad image.
          if (!(await repo.find(db, id))) return deleted()
          // Nor is one the storage would not give back.
          if (err instanceof StorageReadFailed) {
            return fail('storage_error', storageUnavailable(err.cause), [row.storage_key])
          }
          return fail(
            'invalid_image',
            new AppError(
              422,
              'INVALID_IMAGE',
              'The image could not be decoded (or has more than 40 megapixels)',
            ),
            [row.storage_key],
          )
        }
        dims = { width: made.width, height: made.height }
        derived = made.webp.length
        if (stripped) published = { size_bytes: stripped.bytes.length, sha256: stripped.sha256 }
        // What is stored counts against the quotas: the original as published and its thumbnail.
        // Until the upload is ready its row holds the whole `max_bytes` its URL reserved; only
        // files that do not fit in there need more, taken under the quota locks before they are
        // written (so what is stored never passes what is counted).
        if (published.size_bytes + derived > Number(row.max_bytes)) {
          const owner = await ownerScope(db, deps.people, {
            user_id: row.owner_user_id,
            session_id: row.owner_session_id,
          })
          const claimed = await claimStored(db, config, row, owner, published.size_bytes, derived)
          if (claimed === 'gone') return deleted()
          if (claimed !== 'claimed') return fail('quota_exceeded', claimed, [row.storage_key])
        }
        // Replaces the original in one rename: it is never served with its metadata, as it is
        // served only once ready.
        try {
          if (stripped) await storeBytes(storage, row.storage_key, actual, stripped.bytes)
          await storeBytes(storage, thumb, 'image/webp', made.webp)
        } catch (err) {
          if (!(await repo.find(db, id))) return deleted()
          // The storage refused the files made from the upload: as when it refuses its bytes.
          return fail('storage_error', storageUnavailable(err), [row.storage_key, thumb])
        }
      }
      const done = {
        status: 'ready' as const,
        content_type: actual,
        ...dims,
        ...published,
        thumbnail_key: thumb,
      }
      if (!(await repo.advance(db, id, 'processing', done, thumb ? derived : undefined))) return deleted()
      const ready = toResponse({ ...row, ...measured, ...done })
      void emit('ready', { url: ready.url, thumbnail_url: ready.thumbnail_url })
      return ready
    }

    // No bytes are taken for a campaign that is gone.
    if (!(await campaigns.find(row.campaign_slug))) return campaignGone([])

    const max = Number(row.max_bytes)
    const length = body.headers['content-length'] ? Number(body.headers['content-length']) : undefined
    // A size named when the URL was asked for binds the body: what ends short was cut off.
    const declaredSize = (row.metadata as { declared_size?: number | null }).declared_size ?? undefined
    if (declaredSize !== undefined && length !== undefined && length !== declaredSize) {
      return fail('size_mismatch', sizeMismatch(declaredSize, length))
    }
    if (length !== undefined && length > max) {
      return fail('too_large', fileTooLarge(max))
    }
    // While bytes arrive the row is written now and then, so the sweep never fails an upload
    // that is slow but alive for one a crash interrupted (see `failInterrupted`). One at a time.
    let lastBeat = Date.now()
    let beating = false
    const heartbeat = () => {
      if (beating || Date.now() - lastBeat < heartbeatMs) return
      beating = true
      lastBeat = Date.now()
      repo
        .touch(db, id)
        .catch(() => {})
        .finally(() => {
          beating = false
        })
    }
    const meter = new UploadMeter(max, length ?? declaredSize, (p) => {
      void emit('uploading', { ...p })
      heartbeat()
    })
    let out: StorageWrite
    try {
      out = await storage.open(row.storage_key, row.declared_type)
    } catch (err) {
      // The URL is used up: the upload ends failed now, not `uploading` (holding its quota, its
      // uploader never told) until the sweep's grace runs out. As when the storage refuses bytes
      // midway: not the client's doing, and nothing to hide behind a 500.
      return fail('storage_error', storageUnavailable(err))
    }

    // The request is piped by hand, not through pipeline(): pipeline would destroy the request
    // (and its socket) on a 413, and the client would never see the answer.
    // Told apart from a storage failure, which also leaves the body unread.
    let disconnected = false
    const onClose = () => {
      if (body.complete) return
      disconnected = true
      meter.destroy(new Error('client disconnected'))
    }
    body.once('close', onClose)
    body.once('error', (err) => {
      disconnected = true
      meter.destroy(err)
    })
    // A client that stops sending (HTTP_BODY_IDLE_TIMEOUT_SECONDS), or sends too slowly
    // (HTTP_BODY_MIN_BYTES_PER_SECOND), is answered 408 here, so the upload fails like any other,
    // not with its socket held open.
    let idle: RequestTimeoutError | undefined
    const stopWatching = whenBodyIdle(body, (err) => {
      idle ??= err
      meter.destroy(err)
    })
    body.pipe(meter)
    try {
      await pipeline(meter, out.stream)
      await out.commit()
    } catch (err) {
      body.unpipe(meter)
      await out.abort().catch(() => {})
      if (meter.tooLarge) {
        if (declaredSize !== undefined && meter.bytes > declaredSize) {
          return fail('size_mismatch', sizeMismatch(declaredSize, meter.bytes, true))
        }
        return fail('too_large', fileTooLarge(max))
      }
      if (idle) return fail(idle instanceof BodyTooSlowError ? 'too_slow' : 'idle_timeout', idle)
      if (disconnected) {
        return fail(
          'client_disconnected',
          new BadRequestError('Upload was interrupted', 'UPLOAD_INTERRUPTED'),
        )
      }
      // The storage refused the bytes (a bucket answering errors): not the client's doing.
      return fail('storage_error', storageUnavailable(err))
    } finally {
      body.off('close', onClose)
      stopWatching()
    }

    if (declaredSize !== undefined && meter.bytes !== declaredSize) {
      return fail('size_mismatch', sizeMismatch(declaredSize, meter.bytes), [row.storage_key])
    }

    try {
      return await finish(meter.bytes, meter.digest(), meter.head())
    } catch (err) {
      if (ended) throw err
      // Whatever broke once the bytes were kept, the upload ends failed, never `processing` for good.
      const left = await removeAll([row.storage_key, thumbnailKey])
      await repo.fail(db, id, 'processing_error', left).catch(() => {})
      void emit('failed', { reason: 'processing_error' })
      throw err
    }
  }
}
