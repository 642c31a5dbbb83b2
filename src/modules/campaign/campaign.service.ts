import type { EventBus } from '../../platform/bus/bus.js'
import type { Db } from '../../platform/db/database.js'
import { ConflictError, NotFoundError, ValidationError } from '../../platform/http/errors.js'
import * as repo from './campaign.repo.js'
import type { Campaign, CampaignMetadata, CreateCampaignBody, UpdateCampaignBody } from './campaign.schema.js'

const CHANGED_CHANNEL = 'ovasabi:campaign:changed'
const CACHE_MS = 5_000

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
  update(slug: string, patch: UpdateCampaignBody, actor: string): Promise<Campaign>
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

/**
 * A schedule whose end is not after its start takes the campaign from `scheduled` straight to
 * `ended`, never `active`: most likely two swapped dates, refused where they are typed.
 */
function assertSchedule(metadata: CampaignMetadata | undefined): void {
  const { start, end } = metadata?.scheduling ?? {}
  if (start && end && Date.parse(end) <= Date.parse(start)) {
    throw new ValidationError('The campaign would end before it starts', [
      { path: '/metadata/scheduling/end', message: 'must be after scheduling.start' },
    ])
  }
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
    patch: Parameters<typeof repo.update>[3],
    version?: number,
  ) {
    return db.transaction().execute(async (trx) => {
      const before = await repo.findBySlug(trx, slug)
      if (!before) throw new NotFoundError(`Campaign ${slug} does not exist`, 'CAMPAIGN_NOT_FOUND')
      if (version !== undefined && version !== before.version) {
        throw new ConflictError(
          `Campaign ${slug} is at version ${before.version}, not ${version}`,
          'VERSION_CONFLICT',
        )
      }
      const after = await repo.update(trx, slug, before.version, patch)
      if (!after) throw new ConflictError(`Campaign ${slug} changed concurrently; retry`, 'VERSION_CONFLICT')
      await repo.insertAudit(trx, { campaign_slug: slug, actor, action, changes: diff(before, after) })
      return after
    })
  }

  return {
    async create(input, actor) {
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
    async update(slug, patch, actor) {
      const { version, ...fields } = patch
      assertSchedule(fields.metadata)
      const after = await applyChange(slug, actor, 'update', fields, version)
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
