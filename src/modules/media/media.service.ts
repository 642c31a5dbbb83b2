import type { IncomingMessage } from 'node:http'
import { ulid } from 'ulid'
import type { Config } from '../../config.js'
import { hasRole, type Principal } from '../../platform/auth/principal.js'
import type { Db } from '../../platform/db/database.js'
import { isBlank } from '../../platform/text.js'
import {
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  UnsupportedMediaTypeError,
} from '../../platform/http/errors.js'
import type { WriteGroup } from '../../nexus/registry.js'
import type { RealtimePublisher } from '../../realtime/publish.js'
import type { Campaign } from '../campaign/campaign.schema.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import {
  guestNetworkOf,
  ownerScope,
  type People,
  type QuotaConfig,
  type Reservation,
  reservationWriter,
} from './media.quota.js'
import { createReceiver, storageUnavailable } from './media.receive.js'
import { failInterrupted, removeLeftovers, sweepPartials } from './media.sweep.js'
import * as repo from './media.repo.js'
import { fileTooLarge } from './sizes.js'
import { allowedTypes, maxBytes, normaliseType } from './media.rules.js'
import type { MediaResponse, MediaStatus, OwnMediaView, UploadPayload } from './media.schema.js'
import { type UploadSigner, urlExpiry } from './signing.js'
import type { StorageAdapter } from './storage.js'
import { thumbnailKeyOf } from './thumbnail.js'

type MediaConfig = Pick<Config, 'MEDIA_MAX_BYTES' | 'MEDIA_UPLOAD_TTL_SECONDS' | 'PUBLIC_URL'> & QuotaConfig

export interface MediaService {
  /**
   * `media.upload`: the reservation to commit through `reservations`, with the ticket it answers.
   * `ip`: the caller's address, whose network's budget a guest's upload counts in.
   */
  prepare(campaign: Campaign, principal: Principal, input: UploadPayload, ip?: string): Promise<Reservation>
  /** Inserts a commit batch's reservations within the storage quotas (for `ctx.deferGrouped`). */
  reservations: WriteGroup<Reservation>
  /** `PUT upload_url`: stream the body to storage, then check, measure and publish it. */
  receive(token: string, body: IncomingMessage): Promise<MediaResponse>
  get(id: string): Promise<repo.MediaRow>
  /**
   * Where an upload stands, for its uploader (the session that uploaded it, or the user, also for
   * their guest uploads from a session they continued): anyone else is told it does not exist.
   * How a page that missed `media_event`s catches up.
   */
  own(id: string, principal: Pick<Principal, 'user_id' | 'session_id'>): Promise<OwnMediaView>
  /** Newest first; `before` (the last media_id seen) pages on, `status` picks one. */
  list(slug: string, q: { limit: number; before?: string; status?: MediaStatus }): Promise<MediaResponse[]>
  /** Deletes a media of `slug` (its uploader or an editor): its bytes go and its quota is freed. */
  remove(slug: string, id: string, principal: Principal): Promise<void>
  /**
   * Erasure (a `users.onErase` hook, in the erasure transaction): every media the person uploaded,
   * as a user or as a guest of a session they joined from, goes with its files, freeing its quota.
   */
  erase(person: { user_id: string; session_ids: string[] }, trx: Db): Promise<void>
  /**
   * Cleans up after uploads a crash interrupted: fails those it left in flight past the quotas'
   * grace (see `failInterrupted`), then removes what was left on disk (see `sweepPartials`) and
   * what failed uploads could not remove when they failed (see `removeLeftovers`).
   */
  sweep(): Promise<{ interrupted: number; partials: number; leftovers: number }>
  toResponse(row: repo.MediaRow): MediaResponse
  storage: StorageAdapter
}

/** Statuses in which an upload may still write files. */
const IN_FLIGHT = new Set(['pending', 'uploading', 'processing'])
/**
 * A path separator, `.` or `..` alone, or what display names refuse too: a control character (C0
 * and C1), a line or paragraph separator, and a bidirectional override or isolate, which would
 * show `invoice\u202Efdp.exe` as "invoiceexe.pdf" in the media list and the download. A name is
 * never a path (storage keys are the campaign's and the id), so `..` within one (`v1..2.png`) is
 * harmless; with separators refused it can never be a segment of a path someone later builds.
 */
const BAD_NAME = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069/\\]|^\.{1,2}$/u
/** Nothing visible: white space and format characters (zero-width space, byte order mark) only. */
const MEDIA_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/

/** Rethrows a storage failure as 503 `STORAGE_UNAVAILABLE` (for `.catch`). */
const unavailable = (err: unknown): never => {
  throw storageUnavailable(err)
}

const num = (v: string | number | null) => (v === null ? null : Number(v))

export function createMediaService(deps: {
  db: Db
  storage: StorageAdapter
  signer: UploadSigner
  publisher: RealtimePublisher
  campaigns: Pick<CampaignService, 'find'>
  config: MediaConfig
  /**
   * The sessions a person joined or logged in from (the user service): their guest uploads there
   * count against the person's one quota. Without it, only the session an upload comes from.
   */
  people?: People
  /** How often an upload whose bytes arrive writes its row (default `HEARTBEAT_MS`). */
  heartbeatMs?: number
}): MediaService {
  const { db, storage, config } = deps
  const base = config.PUBLIC_URL?.replace(/\/+$/, '') ?? ''

  function toResponse(row: repo.MediaRow): MediaResponse {
    const ready = row.status === 'ready'
    return {
      media_id: row.id,
      status: row.status,
      filename: row.filename,
      content_type: row.content_type,
      size: num(row.size_bytes),
      sha256: row.sha256,
      width: row.width,
      height: row.height,
      url: ready ? `${base}/media/${row.id}` : null,
      thumbnail_url: ready && row.thumbnail_key ? `${base}/media/${row.id}/thumbnail` : null,
      failure_reason: row.failure_reason,
      created_at: row.created_at.toISOString(),
    }
  }

  async function prepare(campaign: Campaign, principal: Principal, input: UploadPayload, ip?: string) {
    // A name of spaces (or of anything else that draws nothing) passes `minLength` but names
    // nothing: a download would be saved as ` .png`.
    if (isBlank(input.filename)) {
      throw new BadRequestError('File name must not be blank', 'INVALID_FILENAME')
    }
    if (BAD_NAME.test(input.filename)) {
      throw new BadRequestError(
        'File name must not be "." or "..", nor contain path separators, control characters or bidirectional overrides',
        'INVALID_FILENAME',
      )
    }
    const declared = normaliseType(input.content_type)
    if (!allowedTypes(campaign).includes(declared)) {
      throw new UnsupportedMediaTypeError(
        `${declared} is not accepted by this campaign`,
        'MEDIA_TYPE_NOT_ALLOWED',
      )
    }
    const max = maxBytes(campaign, config)
    if (input.size !== undefined && input.size > max) {
      throw fileTooLarge(max)
    }
    const id = ulid()
    const expiresAt = new Date(Date.now() + config.MEDIA_UPLOAD_TTL_SECONDS * 1000)
    const row = {
      id,
      campaign_slug: campaign.slug,
      owner_user_id: principal.user_id,
      owner_session_id: principal.session_id,
      status: 'pending' as const,
      filename: input.filename,
      declared_type: declared,
      max_bytes: max,
      storage_key: `${campaign.slug}/${id}/original`,
      upload_expires_at: expiresAt,
      metadata: {
        declared_size: input.size ?? null,
        guest_network: guestNetworkOf(principal, campaign.slug, ip),
      },
    }
    const ticket = {
      media_id: id,
      upload_url: `${base}/media/upload/${deps.signer.sign(id, expiresAt)}`,
      // The signature carries whole seconds; say the same instant.
      expires_at: urlExpiry(expiresAt).toISOString(),
      max_bytes: max,
    }
    const owner = await ownerScope(db, deps.people, principal)
    return { row, ticket, limit: max, declared: input.size, owner }
  }

  async function get(id: string) {
    const row = MEDIA_ID.test(id) ? await repo.find(db, id) : undefined
    if (!row) throw new NotFoundError('No such media', 'MEDIA_NOT_FOUND')
    return row
  }

  /** Whether `principal` uploaded media `id` (see `findOwn`): the row if so. */
  async function findOwn(id: string, principal: Pick<Principal, 'user_id' | 'session_id'>) {
    const continued =
      principal.user_id === 'guest' ? [] : ((await deps.people?.sessionIds(principal.user_id)) ?? [])
    return repo.findOwn(db, id, principal, continued)
  }

  async function own(id: string, principal: Pick<Principal, 'user_id' | 'session_id'>) {
    const row = MEDIA_ID.test(id) ? await findOwn(id, principal) : undefined
    if (!row) throw new NotFoundError('No such media', 'MEDIA_NOT_FOUND')
    const { url, thumbnail_url, size } = toResponse(row)
    // A URL never used before it expired can no longer be (`PUT` answers 403 UPLOAD_URL_EXPIRED,
    // by the same rule): the upload failed then, although nothing wrote to its row.
    const expiredAt = row.status === 'pending' ? urlExpiry(row.upload_expires_at) : undefined
    const expired = expiredAt !== undefined && expiredAt.getTime() <= Date.now()
    const view: OwnMediaView = {
      media_id: row.id,
      campaign: row.campaign_slug,
      status: expired ? 'failed' : row.status,
      content_type: row.content_type ?? row.declared_type,
      updated_at: (expired ? expiredAt : row.updated_at).toISOString(),
    }
    if (expired) view.reason = 'expired'
    if (row.status === 'failed' && row.failure_reason) view.reason = row.failure_reason
    if (row.status === 'ready') {
      if (size !== null) view.size = size
      if (url) view.url = url
      if (thumbnail_url) view.thumbnail_url = thumbnail_url
    }
    return view
  }

  async function remove(slug: string, id: string, principal: Principal) {
    const row = await get(id)
    if (row.campaign_slug !== slug) throw new NotFoundError('No such media', 'MEDIA_NOT_FOUND')
    // Its uploader as `own` finds them (`findOwn` is the one rule): who may read it may delete it.
    if (!hasRole(principal, 'editor') && !(await findOwn(id, principal))) {
      throw new ForbiddenError('Only its uploader or an editor may delete this media')
    }
    // Bytes first: if removing them fails, the row stays and a retry finishes the job. An upload
    // still arriving finds its row gone when it next moves on, and removes what it wrote (see
    // `deleted`); its thumbnail, named by its row only once ready, is removed by its key.
    const inFlight = IN_FLIGHT.has(row.status)
    const keys = [
      row.storage_key,
      inFlight ? thumbnailKeyOf(row) : row.thumbnail_key,
      ...repo.leftoverKeys(row),
    ]
    // A storage that fails (a bucket answering errors) is not the caller's doing: 503, try again.
    for (const key of keys) if (key) await storage.remove(key).catch(unavailable)
    const gone = await repo.remove(db, id)
    // One that stored a file after the removal above and became ready before the row went never
    // learns it was deleted: what it stored goes now.
    if (gone && inFlight) for (const key of keys) if (key) await storage.remove(key)
  }

  async function erase(person: { user_id: string; session_ids: string[] }, trx: Db) {
    // Rows first, in the erasure transaction, then their files: if removing one fails, the
    // transaction rolls back with the rows and a retry finishes the job. An upload still arriving
    // finds its row gone when it next moves on, and removes what it wrote (see `deleted`).
    const rows = await repo.removeByOwner(trx, person.user_id, person.session_ids)
    for (const row of rows) {
      if (row.status === 'pending') continue
      for (const key of [row.storage_key, row.thumbnail_key ?? thumbnailKeyOf(row)]) await storage.remove(key)
    }
  }

  return {
    prepare,
    reservations: reservationWriter(config),
    receive: createReceiver({ ...deps, toResponse }),
    get,
    own,
    async list(slug, q) {
      return (await repo.listByCampaign(db, slug, q)).map(toResponse)
    },
    remove,
    erase,
    async sweep() {
      // Rows first: the files of the uploads it fails are then no longer in progress.
      const interrupted = await failInterrupted({ db, storage, publisher: deps.publisher })
      const partials = await sweepPartials({ db, storage, config })
      return { interrupted, partials, leftovers: await removeLeftovers({ db, storage }) }
    },
    toResponse,
    storage,
  }
}
