import { isDeepStrictEqual } from 'node:util'
import type { EventBus } from '../../platform/bus/bus.js'
import type { Db } from '../../platform/db/database.js'
import { AppError, ConflictError, NotFoundError } from '../../platform/http/errors.js'
import { type CampaignCacheOptions, createCampaignCache } from './campaign.cache.js'
import {
  assertDisplayText,
  assertQualifiesOn,
  assertSchedule,
  assertStoredMetadata,
  assertTags,
  assertTitle,
  mergedMetadata,
  mergePatchFields,
  type QualifyingActions,
  ruleProblems,
} from './campaign.checks.js'
import * as repo from './campaign.repo.js'
import { assertCustomRules } from './custom-rules.js'
import {
  type Campaign,
  type CreateCampaignBody,
  type MergePatchCampaignBody,
  metadataNotAnObject,
  storedProblems,
  type UpdateCampaignBody,
} from './campaign.schema.js'

const CHANGED_CHANNEL = 'ovasabi:campaign:changed'

/**
 * A change to a campaign. `fields` set what they name, `metadata` replaced whole; with `merge`,
 * they are a JSON Merge Patch (RFC 7396) over the stored campaign instead: metadata keys merge,
 * `null` removes one (a top-level `null` resets the member, see `mergePatchFields`). `version`
 * (the body's) refuses the change with 409 `VERSION_CONFLICT`, and `ifMatch` (the versions the
 * `If-Match` header's strong tags name) with 412 `PRECONDITION_FAILED` when it names none of the
 * current one: the campaign moved on, or the tag was never one of its versions.
 */
export type CampaignChange =
  | {
      fields: Omit<UpdateCampaignBody, 'version'>
      merge?: false
      version?: number
      ifMatch?: readonly number[]
    }
  | {
      fields: Omit<MergePatchCampaignBody, 'version'>
      merge: true
      version?: number
      ifMatch?: readonly number[]
    }

/** `If-Match`'s versions (see `CampaignChange`): refuses an archive or unarchive with 412 when stale. */
export interface Precondition {
  ifMatch?: readonly number[]
}

/**
 * A campaign as it was before a change, as far as listeners need it: carried on the change's bus
 * message (from the row the change locked), so every node knows what changed, whatever its own
 * cache held or missed.
 */
export interface CampaignBefore {
  version: number
  metadata: Pick<Campaign['metadata'], 'features'>
}

/**
 * Told of a change: `campaign` as read after it (a later change may already show), and `previous`,
 * the campaign before this change: `null` when the change created it, `undefined` when unknown (a
 * message from a node that does not carry it), which a listener reads as "anything may have changed".
 */
export type CampaignListener = (campaign: Campaign, previous: CampaignBefore | null | undefined) => void

export interface CampaignService {
  create(input: CreateCampaignBody, actor: string): Promise<Campaign>
  /** Read-through cache (a few seconds, invalidated on every node by changes): the hot path's lookup. */
  get(slug: string): Promise<Campaign>
  find(slug: string): Promise<Campaign | undefined>
  /**
   * Which of `slugs` name a campaign, read from the database in one query (the cache may hold only
   * some of them): for checking a list at once, as an API key's scope.
   */
  existingSlugs(slugs: readonly string[]): Promise<Set<string>>
  list(opts: {
    includeArchived?: boolean
    page?: number
    perPage?: number
    tag?: string
  }): Promise<{ rows: Campaign[]; total: number }>
  update(slug: string, change: CampaignChange, actor: string): Promise<Campaign>
  archive(slug: string, actor: string, expect?: Precondition): Promise<Campaign>
  /** Takes an archived campaign back (idempotent); its schedule and flags decide its status again. */
  unarchive(slug: string, actor: string, expect?: Precondition): Promise<Campaign>
  /** Creates the campaign unless it exists; used for the default demo campaign. */
  ensure(input: CreateCampaignBody, actor: string): Promise<Campaign>
  audit(slug: string, limit?: number): Promise<Awaited<ReturnType<typeof repo.listAudit>>>
  /** The campaign's counters, or only those named (a counter never counted reads as absent). */
  counters(slug: string, names?: string[]): Promise<Record<string, number>>
  /** The editors' figures: the modules' counters and the most counted `maxEvents` tracked events. */
  statsCounters(slug: string, maxEvents: number): ReturnType<typeof repo.statsCounters>
  /**
   * What the campaign holds, stored before today's checks, that editors must fix (`problems`):
   * the metadata's (see `storedProblems`) and its rules' (see `ruleProblems`), by path.
   */
  problems(campaign: Pick<Campaign, 'metadata'>): Array<{ path: string; message: string }>
  /**
   * Called on every node after any campaign changes (tick rate, features…), with the campaign
   * before the change where known (see `CampaignListener`).
   */
  onChange(listener: CampaignListener): () => void
  start(): Promise<void>
}

function beforeOf(campaign: Campaign): CampaignBefore {
  return { version: campaign.version, metadata: { features: campaign.metadata.features } }
}

/**
 * The `previous` of a change's bus message: `null` (created), a `CampaignBefore`, or `undefined`
 * when absent or unreadable (another version's message), never a guess.
 */
function previousIn(message: unknown): CampaignBefore | null | undefined {
  const previous = (message as { previous?: unknown }).previous
  if (previous === null) return null
  const { version, metadata } = (previous ?? {}) as { version?: unknown; metadata?: unknown }
  if (typeof version !== 'number' || typeof metadata !== 'object' || metadata === null) return undefined
  return { version, metadata: { features: (metadata as CampaignBefore['metadata']).features } }
}

/** Top-level and metadata-key differences, for the audit trail. */
function diff(before: Campaign, after: Campaign): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {}
  for (const key of ['title', 'description', 'draft', 'archived_at'] as const) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key]))
      changes[key] = { from: before[key], to: after[key] }
  }
  // A column that held no object (see `metadataFromColumn`): what it held, and what replaced it.
  const shape = metadataNotAnObject(before.metadata)
  if (shape && !metadataNotAnObject(after.metadata))
    changes.metadata = { from: shape.stored, to: after.metadata }
  const keys = new Set([...Object.keys(before.metadata), ...Object.keys(after.metadata)])
  for (const key of keys) {
    const from = (before.metadata as Record<string, unknown>)[key]
    const to = (after.metadata as Record<string, unknown>)[key]
    if (JSON.stringify(from) !== JSON.stringify(to))
      changes[`metadata.${key}`] = { from: from ?? null, to: to ?? null }
  }
  return changes
}

type RepoPatch = Parameters<typeof repo.update>[3]

/**
 * Whether every field of `patch` already holds its value (metadata compared as JSON, key order
 * aside). Metadata read as `{}` from a column that held no object holds no value: setting it
 * (to `{}` too) writes it, else the row kept its `null` and its problem.
 */
function changesNothing(before: Campaign, patch: RepoPatch): boolean {
  return Object.entries(patch).every(
    ([key, value]) =>
      value === undefined ||
      (isDeepStrictEqual(before[key as keyof RepoPatch], value) &&
        !(key === 'metadata' && metadataNotAnObject(before.metadata))),
  )
}

export interface CampaignServiceDeps {
  db: Db
  bus: EventBus
  /**
   * A change that could not be told to the other nodes, nor read back after one, nor taken by a
   * listener. Nothing is lost: the gateway re-reads the campaigns of its rooms every few seconds.
   */
  onError?: (err: unknown, slug: string) => void
  /** The read-through cache's bounds (defaults suit production; tests make them small). */
  cache?: CampaignCacheOptions
  /**
   * The actions a campaign's `custom_rules.referral_qualifies_on` may name (registered ones and
   * their aliases, tracked events). Without it, only the shape of a name is checked.
   */
  actions?: QualifyingActions
}

export function createCampaignService(deps: CampaignServiceDeps): CampaignService {
  const { db, bus, onError = () => {} } = deps
  const cache = createCampaignCache(deps.cache)
  const listeners = new Set<CampaignListener>()

  async function find(slug: string): Promise<Campaign | undefined> {
    const hit = cache.fresh(slug)
    if (hit) return hit.campaign
    return remember(slug, await repo.findBySlug(db, slug))
  }

  /**
   * Caches what was read, unless a newer version was cached while the read was in flight (a
   * change made meanwhile): an older one would stand for the next few seconds. Returns the newest.
   */
  function remember(slug: string, campaign: Campaign | undefined): Campaign | undefined {
    const held = cache.held(slug)
    const newest = held && campaign && held.version > campaign.version ? held : campaign
    cache.set(slug, newest)
    return newest
  }

  /** One listener failing must neither keep the others from hearing nor reject on the bus. */
  function notify(campaign: Campaign, previous: CampaignBefore | null | undefined) {
    for (const listener of listeners) {
      try {
        listener(campaign, previous)
      } catch (err) {
        onError(err, campaign.slug)
      }
    }
  }

  async function get(slug: string): Promise<Campaign> {
    const campaign = await find(slug)
    if (!campaign) throw new NotFoundError(`Campaign ${slug} does not exist`, 'CAMPAIGN_NOT_FOUND')
    return campaign
  }

  /**
   * After a commit: the change stands whatever the bus does, so a bus that refuses the message
   * (Redis unreachable) does not make it a 500. This node's listeners hear it at once; the others
   * catch up as after any lost message (see `onError`). `previous` is the campaign before this
   * change (`null`: it created it), the same on every node.
   */
  async function changed(campaign: Campaign, previous: CampaignBefore | null) {
    remember(campaign.slug, campaign)
    try {
      await bus.publish(CHANGED_CHANNEL, { slug: campaign.slug, previous })
    } catch (err) {
      onError(err, campaign.slug)
      notify(campaign, previous)
    }
  }

  async function applyChange(
    slug: string,
    actor: string,
    action: string,
    patch: RepoPatch | ((before: Campaign) => RepoPatch | undefined),
    expect: { version?: number; ifMatch?: readonly number[] } = {},
  ): Promise<{ campaign: Campaign; before: CampaignBefore; changed: boolean }> {
    return db.transaction().execute(async (trx) => {
      // Locked: two editors' changes without a precondition (two admin tabs, each merging its
      // own keys) both apply, one after the other, rather than the second failing as stale.
      const before = await repo.findForUpdate(trx, slug)
      if (!before) throw new NotFoundError(`Campaign ${slug} does not exist`, 'CAMPAIGN_NOT_FOUND')
      // An archived campaign is read-only: what it was when it closed is what its leads, stats
      // and audit trail refer to. `unarchive` takes it back first.
      if (before.archived_at && action === 'update') {
        throw new ConflictError(
          `Campaign ${slug} is archived; unarchive it to change it`,
          'CAMPAIGN_ARCHIVED',
          { archived_at: before.archived_at.toISOString() },
        )
      }
      if (expect.ifMatch !== undefined && !expect.ifMatch.includes(before.version)) {
        throw new AppError(
          412,
          'PRECONDITION_FAILED',
          `Campaign ${slug} is at version ${before.version}, which If-Match does not name`,
          { details: { version: before.version } },
        )
      }
      if (expect.version !== undefined && expect.version !== before.version) {
        throw new ConflictError(
          `Campaign ${slug} is at version ${before.version}, not ${expect.version}`,
          'VERSION_CONFLICT',
        )
      }
      // Nothing left to change once the row is locked (`undefined`, or the values it holds): it
      // stays as is. A save of an unchanged form moved the version on, and another editor's
      // save of theirs failed as stale.
      const fields = typeof patch === 'function' ? patch(before) : patch
      if (!fields || changesNothing(before, fields))
        return { campaign: before, before: beforeOf(before), changed: false }
      const after = await repo.update(trx, slug, before.version, fields)
      if (!after) throw new ConflictError(`Campaign ${slug} changed concurrently; retry`, 'VERSION_CONFLICT')
      await repo.insertAudit(trx, { campaign_slug: slug, actor, action, changes: diff(before, after) })
      return { campaign: after, before: beforeOf(before), changed: true }
    })
  }

  return {
    async create(input, actor) {
      assertTitle(input.title)
      assertDisplayText({ title: input.title, description: input.description, tags: input.metadata?.tags })
      assertSchedule(input.metadata)
      assertQualifiesOn(input.metadata, undefined, deps.actions)
      assertCustomRules(input.metadata)
      assertTags(input.metadata?.tags)
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
      await changed(created, null)
      return created
    },
    get,
    find,
    existingSlugs: (slugs) => repo.existingSlugs(db, slugs),
    async list({ includeArchived = false, page = 1, perPage = 50, tag }) {
      return repo.list(db, { includeArchived, limit: perPage, offset: (page - 1) * perPage, tag })
    },
    async update(slug, change, actor) {
      const expect = { version: change.version, ifMatch: change.ifMatch }
      const given = change.merge ? mergePatchFields(change.fields) : change.fields
      assertTitle(given.title)
      assertDisplayText(given)
      let patch: RepoPatch | ((before: Campaign) => RepoPatch)
      if (given.metadata === undefined) {
        // The stored metadata is what the campaign keeps: checked as a merge patch naming none of
        // it would check it (see `assertStoredMetadata`), on the locked row.
        const { metadata: _none, ...fields } = given
        patch = (before) => {
          assertStoredMetadata(before)
          return fields
        }
      } else if (change.merge) {
        const { metadata, ...fields } = given
        // The merged result is what the campaign becomes: it is checked as a whole body's would be
        // (legacy leftovers the patch does not name aside, see `mergedMetadata`).
        patch = (before) => {
          if (metadata === undefined) return fields
          const merged = mergedMetadata(before.metadata, metadata)
          assertSchedule(merged, metadata)
          assertQualifiesOn(merged, metadata, deps.actions)
          assertCustomRules(merged, metadata)
          assertTags(metadata?.tags)
          assertDisplayText({ tags: merged.tags })
          return { ...fields, metadata: merged }
        }
      } else {
        assertDisplayText({ tags: change.fields.metadata?.tags })
        assertSchedule(change.fields.metadata)
        assertQualifiesOn(change.fields.metadata, undefined, deps.actions)
        assertCustomRules(change.fields.metadata)
        assertTags(change.fields.metadata?.tags)
        patch = change.fields
      }
      const {
        campaign: after,
        before,
        changed: moved,
      } = await applyChange(slug, actor, 'update', patch, expect)
      if (moved) await changed(after, before)
      return after
    },
    async archive(slug, actor, expect = {}) {
      // Decided on the locked row, not a cached read: two admins archiving at once (or one after
      // another node archived) would each archive again, moving `archived_at` and the audit trail.
      const {
        campaign,
        before,
        changed: archived,
      } = await applyChange(
        slug,
        actor,
        'archive',
        (before) => (before.archived_at ? undefined : { archived_at: new Date() }),
        expect,
      )
      if (archived) await changed(campaign, before)
      return campaign
    },
    async unarchive(slug, actor, expect = {}) {
      const {
        campaign,
        before,
        changed: restored,
      } = await applyChange(
        slug,
        actor,
        'unarchive',
        (before) => (before.archived_at ? { archived_at: null } : undefined),
        expect,
      )
      if (restored) await changed(campaign, before)
      return campaign
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
    counters: (slug, names) => repo.counters(db, slug, names),
    statsCounters: (slug, maxEvents) => repo.statsCounters(db, slug, maxEvents),
    problems(campaign) {
      const problems = storedProblems(campaign)
      const named = new Set(problems.map((p) => p.path))
      for (const p of ruleProblems(campaign.metadata, deps.actions)) if (!named.has(p.path)) problems.push(p)
      return problems.map(({ path, message }) => ({ path, message }))
    },
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async start() {
      await bus.subscribe(CHANGED_CHANNEL, (message) => {
        const slug = (message as { slug?: string }).slug
        if (typeof slug !== 'string') return
        const previous = previousIn(message)
        cache.delete(slug)
        // A read that fails (the database unreachable for a moment) must not be an unhandled
        // rejection, which ends the process.
        find(slug).then(
          (c) => c && notify(c, previous),
          (err) => onError(err, slug),
        )
      })
    },
  }
}
