import type { IncomingMessage } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { fileTypeFromBuffer } from 'file-type'
import sharp from 'sharp'
import { ulid } from 'ulid'
import type { Config } from '../../config.js'
import type { Principal } from '../../platform/auth/principal.js'
import type { Db } from '../../platform/db/database.js'
import {
  AppError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../../platform/http/errors.js'
import type { Audience, RealtimePublisher } from '../../realtime/publish.js'
import type { Campaign } from '../campaign/campaign.schema.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import * as repo from './media.repo.js'
import {
  DEFAULT_ALLOWED_TYPES,
  type MediaResponse,
  THUMBNAIL_TYPES,
  type UploadPayload,
  type UploadTicket,
} from './media.schema.js'
import { UploadMeter } from './meter.js'
import type { UploadSigner } from './signing.js'
import type { StorageAdapter } from './storage.js'

type MediaConfig = Pick<Config, 'MEDIA_MAX_BYTES' | 'MEDIA_UPLOAD_TTL_SECONDS' | 'PUBLIC_URL'>

export interface MediaService {
  /** `media.upload`: the row to insert (by the caller, in its commit) and the ticket to answer. */
  prepare(
    campaign: Campaign,
    principal: Principal,
    input: UploadPayload,
  ): Promise<{
    row: Parameters<typeof repo.insert>[1]
    ticket: UploadTicket
  }>
  insert: typeof repo.insert
  /** `PUT upload_url`: stream the body to storage, then check, measure and publish it. */
  receive(token: string, body: IncomingMessage): Promise<MediaResponse>
  get(id: string): Promise<repo.MediaRow>
  list(slug: string, limit: number): Promise<MediaResponse[]>
  toResponse(row: repo.MediaRow): MediaResponse
  storage: StorageAdapter
}

/**
 * Decoding limits for thumbnails: a small file can declare a huge canvas (sharp's default limit is
 * ~268 megapixels, seconds of CPU per upload); 40 megapixels covers any camera photo.
 */
const DECODE = { limitInputPixels: 40_000_000 }

const BAD_NAME = /[\u0000-\u001f\u007f/\\]|^\.{1,2}$/

function normaliseType(type: string): string {
  return type.split(';')[0]!.trim().toLowerCase()
}

function allowedTypes(campaign: Campaign): string[] {
  const rule = campaign.metadata.custom_rules?.media_allowed_types
  return Array.isArray(rule) && rule.every((t) => typeof t === 'string')
    ? rule.map((t) => normaliseType(t as string))
    : DEFAULT_ALLOWED_TYPES
}

function maxBytes(campaign: Campaign, config: MediaConfig): number {
  const rule = Number(campaign.metadata.custom_rules?.media_max_bytes)
  return Number.isInteger(rule) && rule > 0 ? Math.min(rule, config.MEDIA_MAX_BYTES) : config.MEDIA_MAX_BYTES
}

const num = (v: string | number | null) => (v === null ? null : Number(v))

export function createMediaService(deps: {
  db: Db
  storage: StorageAdapter
  signer: UploadSigner
  publisher: RealtimePublisher
  campaigns: Pick<CampaignService, 'get'>
  config: MediaConfig
}): MediaService {
  const { db, storage, config } = deps
  const base = config.PUBLIC_URL?.replace(/\/+$/, '') ?? ''

  function audienceOf(row: repo.MediaRow): Audience {
    return row.owner_user_id === 'guest'
      ? { scope: 'session', campaign: row.campaign_slug, session_id: row.owner_session_id }
      : { scope: 'user', campaign: row.campaign_slug, user_id: row.owner_user_id }
  }

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

  async function prepare(campaign: Campaign, principal: Principal, input: UploadPayload) {
    if (BAD_NAME.test(input.filename) || input.filename.includes('..')) {
      throw new BadRequestError(
        'File name must not contain path separators, ".." or control characters',
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
      throw new PayloadTooLargeError(`File is larger than ${max} bytes`, 'MEDIA_TOO_LARGE')
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
      metadata: { declared_size: input.size ?? null },
    }
    const ticket = {
      media_id: id,
      upload_url: `${base}/media/upload/${deps.signer.sign(id, expiresAt)}`,
      // The signature carries whole seconds; say the same instant.
      expires_at: new Date(Math.floor(expiresAt.getTime() / 1000) * 1000).toISOString(),
      max_bytes: max,
    }
    return { row, ticket }
  }

  async function receive(token: string, body: IncomingMessage): Promise<MediaResponse> {
    const id = deps.signer.verify(token)
    const row = await repo.claim(db, id)
    if (!row) {
      const existing = await repo.find(db, id)
      if (!existing) throw new NotFoundError('No such upload', 'MEDIA_NOT_FOUND')
      throw new ConflictError('This upload URL has already been used', 'UPLOAD_URL_USED')
    }
    const emit = (status: string, extra: Record<string, unknown> = {}) =>
      deps.publisher
        .publish(audienceOf(row), {
          type: 'media_event',
          campaign_id: row.campaign_slug,
          media_id: id,
          status,
          ...extra,
        })
        .catch(() => {})
    const fail = async (reason: string, err: AppError): Promise<never> => {
      await repo.update(db, id, { status: 'failed', failure_reason: reason })
      void emit('failed', { reason })
      // The rest of the body is not read: close the connection after answering.
      throw new AppError(err.statusCode, err.code, err.message, { headers: { connection: 'close' } })
    }

    const max = Number(row.max_bytes)
    const length = body.headers['content-length'] ? Number(body.headers['content-length']) : undefined
    if (length !== undefined && length > max) {
      return fail(
        'too_large',
        new PayloadTooLargeError(`File is larger than ${max} bytes`, 'MEDIA_TOO_LARGE'),
      )
    }
    const declaredSize = (row.metadata as { declared_size?: number | null }).declared_size ?? undefined
    const meter = new UploadMeter(max, length ?? declaredSize, (p) => void emit('uploading', { ...p }))
    const out = await storage.open(row.storage_key, row.declared_type)

    // The request is piped by hand, not through pipeline(): pipeline would destroy the request
    // (and its socket) on a 413, and the client would never see the answer.
    const onClose = () => {
      if (!body.complete) meter.destroy(new Error('client disconnected'))
    }
    body.once('close', onClose)
    body.once('error', (err) => meter.destroy(err))
    body.pipe(meter)
    try {
      await pipeline(meter, out.stream)
      await out.commit()
    } catch (err) {
      body.unpipe(meter)
      await out.abort().catch(() => {})
      if (meter.tooLarge) {
        return fail(
          'too_large',
          new PayloadTooLargeError(`File is larger than ${max} bytes`, 'MEDIA_TOO_LARGE'),
        )
      }
      if (!body.complete) {
        return fail(
          'client_disconnected',
          new BadRequestError('Upload was interrupted', 'UPLOAD_INTERRUPTED'),
        )
      }
      await repo.update(db, id, { status: 'failed', failure_reason: 'storage_error' })
      void emit('failed', { reason: 'storage_error' })
      throw err
    } finally {
      body.off('close', onClose)
    }

    void emit('processing')
    const sha256 = meter.digest()
    await repo.update(db, id, { status: 'processing', size_bytes: meter.bytes, sha256 })
    const campaign = await deps.campaigns.get(row.campaign_slug)
    const sniffed = meter.bytes > 0 ? await fileTypeFromBuffer(meter.head()) : undefined
    const actual = sniffed?.mime
    if (!actual || actual !== row.declared_type || !allowedTypes(campaign).includes(actual)) {
      await storage.remove(row.storage_key).catch(() => {})
      return fail(
        'type_mismatch',
        new UnsupportedMediaTypeError(
          `The file is ${actual ?? 'of an unknown type'}, not the declared ${row.declared_type}`,
          'MEDIA_TYPE_MISMATCH',
        ),
      )
    }

    let width: number | null = null
    let height: number | null = null
    let thumbnailKey: string | null = null
    if (THUMBNAIL_TYPES.has(actual)) {
      try {
        const meta = await (await storage.read(row.storage_key)).pipe(sharp(DECODE)).metadata()
        width = meta.width ?? null
        height = meta.height ?? null
        thumbnailKey = `${row.campaign_slug}/${id}/thumbnail.webp`
        const thumb = await storage.open(thumbnailKey, 'image/webp')
        try {
          await pipeline(
            await storage.read(row.storage_key),
            sharp(DECODE).rotate().resize(320, 320, { fit: 'inside', withoutEnlargement: true }).webp(),
            thumb.stream,
          )
          await thumb.commit()
        } catch (err) {
          await thumb.abort().catch(() => {})
          throw err
        }
      } catch {
        await storage.remove(row.storage_key).catch(() => {})
        if (thumbnailKey) await storage.remove(thumbnailKey).catch(() => {})
        return fail(
          'invalid_image',
          new AppError(
            422,
            'INVALID_IMAGE',
            'The image could not be decoded (or has more than 40 megapixels)',
          ),
        )
      }
    }

    await repo.update(db, id, {
      status: 'ready',
      content_type: actual,
      width,
      height,
      thumbnail_key: thumbnailKey,
    })
    const ready = toResponse({
      ...row,
      status: 'ready',
      content_type: actual,
      size_bytes: meter.bytes,
      sha256,
      width,
      height,
      thumbnail_key: thumbnailKey,
    })
    void emit('ready', { url: ready.url, thumbnail_url: ready.thumbnail_url })
    return ready
  }

  return {
    prepare,
    insert: repo.insert,
    receive,
    async get(id) {
      const row = /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id) ? await repo.find(db, id) : undefined
      if (!row) throw new NotFoundError('No such media', 'MEDIA_NOT_FOUND')
      return row
    },
    async list(slug, limit) {
      return (await repo.listByCampaign(db, slug, limit)).map(toResponse)
    },
    toResponse,
    storage,
  }
}
