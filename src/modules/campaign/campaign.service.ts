import type { EventBus } from '../../platform/bus/bus.js'
import type { Db } from '../../platform/db/database.js'
import { Compile } from 'typebox/compile'
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../platform/http/errors.js'
import * as repo from './campaign.repo.js'
import {
  type Campaign,
  CampaignMetadata,
  type CreateCampaignBody,
  type MergePatchCampaignBody,
  type UpdateCampaignBody,
} from './campaign.schema.js'
import { applyMergePatch } from './merge-patch.js'

const CHANGED_CHANNEL = 'ovasabi:campaign:changed'
const CACHE_MS = 5_000
/** A merge patch adds to what is stored, so its result is bounded as a whole body is (BODY_LIMIT's default). */
const METADATA_MAX_BYTES = 1024 * 1024
const metadataValidator = Compile(CampaignMetadata)

/**
 * A change to a campaign. `fields` set what they name, `metadata` replaced whole; with `merge`,
 * they are a JSON Merge Patch (RFC 7396) over the stored campaign instead: metadata keys merge,
 * `null` removes one. `version` (the body's) refuses the change with 409 `VERSION_CONFLICT`, and
 * `ifMatch` (the `If-Match` header's) with 412 `PRECONDITION_FAILED`, when the campaign moved on.
 */
export type CampaignChange =
  | { fields: Omit<UpdateCampaignBody, 'version'>; merge?: false; version?: number; ifMatch?: number }
  | { fields: Omit<MergePatchCampaignBody, 'version'>; merge: true; version?: number; ifMatch?: number }

export type CampaignListener = (campaign: Campaign) => void

export interface CampaignService {
  create(input: CreateCampaignBody, actor: string): Promise<Campaign>
  /** Read-through cache (a few seconds, invalidated on every node by changes): the hot path's lookup. */
  get(slug: string): Promise<Campaign>
  find(slug: string): Promise<Campaign | undefined>
  list(opts: {
    includeArchived?: boolean
    page?: number
    perPage?: number
    tag?: string
  }): Promise<{ rows: Campaign[]; total: number }>
  update(slug: string, change: CampaignChange, actor: string): Promise<Campaign>
  archive(slug: string, actor: string): Promise<Campaign>
  /** Creates the campaign unless it exists; used for the default demo campaign. */
  ensure(input: CreateCampaignBody, actor: string): Promise<Campaign>
  audit(slug: string, limit?: number): Promise<Awaited<ReturnType<typeof repo.listAudit>>>
  counters(slug: string): Promise<Record<string, number>>
  /** Called on every node after any campaign changes (tick rate, features…). */
  onChange(listener: CampaignListener): () => void
  start(): Promise<void>
}

/** Top-level and metadata-key differences, for the audit trail. */
function diff(before: Campaign, after: Campaign): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {}
  for (const key of ['title', 'description', 'draft', 'archived_at'] as const) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key]))
      changes[key] = { from: before[key], to: after[key] }
  }
  const keys = new Set([...Object.keys(before.metadata), ...Object.keys(after.metadata)])
  for (const key of keys) {
    const from = (before.metadata as Record<string, unknown>)[key]
    const to = (after.metadata as Record<string, unknown>)[key]
    if (JSON.stringify(from) !== JSON.stringify(to))
      changes[`metadata.${key}`] = { from: from ?? null, to: to ?? null }
  }
  return changes
}

/** A zone `Intl` knows (IANA names and `UTC`): "EST5" or "Berlin" was stored as typed and meant nothing. */
function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/**
 * A schedule whose end is not after its start takes the campaign from `scheduled` straight to
 * `ended`, never `active`: most likely two swapped dates, refused where they are typed.
 */
function assertSchedule(metadata: CampaignMetadata | undefined): void {
  const { start, end, timezone } = metadata?.scheduling ?? {}
  if (timezone !== undefined && !knownTimeZone(timezone)) {
    throw new ValidationError(`Unknown time zone ${JSON.stringify(timezone)}`, [
      {
        path: '/metadata/scheduling/timezone',
        message: 'must be an IANA time zone, e.g. UTC or Europe/Berlin',
      },
    ])
  }
  if (start && end && Date.parse(end) <= Date.parse(start)) {
    throw new ValidationError('The campaign would end before it starts', [
      { path: '/metadata/scheduling/end', message: 'must be after scheduling.start' },
    ])
  }
}

/**
 * A title of spaces passes `minLength` but names nothing: the console's list and the campaign
 * page showed a blank where it belongs.
 */
function assertTitle(title: string | undefined): void {
  if (title !== undefined && title.trim() === '') {
    throw new ValidationError('The campaign title is blank', [
      { path: '/title', message: 'must not be blank' },
    ])
  }
}

type RepoPatch = Parameters<typeof repo.update>[3]

/** Stored metadata with a merge patch applied, validated as a whole body's metadata is. */
function mergedMetadata(stored: CampaignMetadata, patch: Record<string, unknown> | null): CampaignMetadata {
  // `"metadata": null` removes the member, which a campaign always has: back to none set.
  const merged = (patch === null ? {} : applyMergePatch(stored, patch)) as Record<string, unknown>
  if (!metadataValidator.Check(merged)) {
    const details = [...metadataValidator.Errors(merged)].map((e) => ({
      path: `body/metadata${e.instancePath}`,
      message: e.message,
    }))
    throw new ValidationError('The merged campaign metadata is invalid', details)
  }
  if (Buffer.byteLength(JSON.stringify(merged)) > METADATA_MAX_BYTES) {
    throw new ValidationError('The merged campaign metadata is too large', [
      { path: 'body/metadata', message: `must be at most ${METADATA_MAX_BYTES} bytes as JSON` },
    ])
  }
  return merged
}

export function createCampaignService(deps: { db: Db; bus: EventBus }): CampaignService {
  const { db, bus } = deps
  const cache = new Map<string, { campaign: Campaign | undefined; until: number }>()
  const listeners = new Set<CampaignListener>()

  async function find(slug: string): Promise<Campaign | undefined> {
    const hit = cache.get(slug)
    if (hit && hit.until > Date.now()) return hit.campaign
    const campaign = await repo.findBySlug(db, slug)
    if (cache.size > 5000) cache.clear()
    cache.set(slug, { campaign, until: Date.now() + CACHE_MS })
    return campaign
  }

  async function get(slug: string): Promise<Campaign> {
    const campaign = await find(slug)
    if (!campaign) throw new NotFoundError(`Campaign ${slug} does not exist`, 'CAMPAIGN_NOT_FOUND')
    return campaign
  }

  async function changed(campaign: Campaign) {
    cache.set(campaign.slug, { campaign, until: Date.now() + CACHE_MS })
    await bus.publish(CHANGED_CHANNEL, { slug: campaign.slug })
  }

  async function applyChange(
    slug: string,
    actor: string,
    action: string,
    patch: RepoPatch | ((before: Campaign) => RepoPatch),
    expect: { version?: number; ifMatch?: number } = {},
  ) {
    return db.transaction().execute(async (trx) => {
      const before = await repo.findBySlug(trx, slug)
      if (!before) throw new NotFoundError(`Campaign ${slug} does not exist`, 'CAMPAIGN_NOT_FOUND')
      if (expect.ifMatch !== undefined && expect.ifMatch !== before.version) {
        throw new AppError(
          412,
          'PRECONDITION_FAILED',
          `Campaign ${slug} is at version ${before.version}, not ${expect.ifMatch} (If-Match)`,
          { details: { version: before.version } },
        )
      }
      if (expect.version !== undefined && expect.version !== before.version) {
        throw new ConflictError(
          `Campaign ${slug} is at version ${before.version}, not ${expect.version}`,
          'VERSION_CONFLICT',
        )
      }
      const after = await repo.update(
        trx,
        slug,
        before.version,
        typeof patch === 'function' ? patch(before) : patch,
      )
      if (!after) throw new ConflictError(`Campaign ${slug} changed concurrently; retry`, 'VERSION_CONFLICT')
      await repo.insertAudit(trx, { campaign_slug: slug, actor, action, changes: diff(before, after) })
      return after
    })
  }

  return {
    async create(input, actor) {
      assertTitle(input.title)
      assertSchedule(input.metadata)
      const created = await db.transaction().execute(async (trx) => {
        const row = await repo.insert(trx, {
          slug: input.slug,
          title: input.title,
          description: input.description ?? '',
          draft: input.draft ?? false,
          metadata: input.metadata ?? {},
          created_by: actor,
        })
        if (!row) throw new ConflictError(`Campaign ${input.slug} already exists`, 'CAMPAIGN_EXISTS')
        await repo.insertAudit(trx, {
          campaign_slug: row.slug,
          actor,
          action: 'create',
          changes: { created: input },
        })
        return row
      })
      await changed(created)
      return created
    },
    get,
    find,
    async list({ includeArchived = false, page = 1, perPage = 50, tag }) {
      return repo.list(db, { includeArchived, limit: perPage, offset: (page - 1) * perPage, tag })
    },
    async update(slug, change, actor) {
      const expect = { version: change.version, ifMatch: change.ifMatch }
      assertTitle(change.fields.title)
      let after: Campaign
      if (change.merge) {
        const { metadata, ...fields } = change.fields
        after = await applyChange(
          slug,
          actor,
          'update',
          (before) => {
            if (metadata === undefined) return fields
            const merged = mergedMetadata(before.metadata, metadata)
            assertSchedule(merged)
            return { ...fields, metadata: merged }
          },
          expect,
        )
      } else {
        assertSchedule(change.fields.metadata)
        after = await applyChange(slug, actor, 'update', change.fields, expect)
      }
      await changed(after)
      return after
    },
    async archive(slug, actor) {
      const current = await get(slug)
      if (current.archived_at) return current
      const after = await applyChange(slug, actor, 'archive', { archived_at: new Date() })
      await changed(after)
      return after
    },
    async ensure(input, actor) {
      const existing = await repo.findBySlug(db, input.slug)
      if (existing) return existing
      try {
        return await this.create(input, actor)
      } catch (err) {
        if (err instanceof ConflictError) return get(input.slug)
        throw err
      }
    },
    audit: (slug, limit = 100) => repo.listAudit(db, slug, limit),
    counters: (slug) => repo.counters(db, slug),
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async start() {
      await bus.subscribe(CHANGED_CHANNEL, (message) => {
        const slug = (message as { slug?: string }).slug
        if (typeof slug !== 'string') return
        cache.delete(slug)
        void find(slug).then((c) => {
          if (c) for (const l of listeners) l(c)
        })
      })
    },
  }
}
