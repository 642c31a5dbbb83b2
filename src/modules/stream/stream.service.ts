import { sql } from 'kysely'
import type { EventBus } from '../../platform/bus/bus.js'
import type { Db } from '../../platform/db/database.js'
import { ConflictError } from '../../platform/http/errors.js'
import type { AccountService, V1Principal } from './account.service.js'
import { CABLE_CHANNEL, type CableBroadcast } from './cable/protocol.js'
import { createBulkOperations } from './stream.bulk.js'
import { parseStreamInput } from './stream.input.js'
import { toStreamJson } from './stream.json.js'
import { canonicalLinkKey, normalizeLink } from './stream.links.js'
import * as repo from './stream.repo.js'
import type { StreamJson, StreamInput, LiveStatus } from './stream.schema.js'
import { forbidden, invalid, notFound, V1Error } from './v1.errors.js'

export type StreamAction = 'created' | 'updated' | 'archived' | 'deleted'

export interface ListResult {
  streams: StreamJson[]
  meta: { current_page: number; total_pages: number; total_count: number; per_page: number }
}

const UNIQUE_VIOLATION = '23505'

const STATUS_BY_LIVE: Record<LiveStatus, string> = {
  starting: 'unknown',
  live: 'live',
  paused: 'offline',
  ended: 'offline',
}

/**
 * Who a new registry stream records as its creator (and owner): the account, the API key or the
 * console person, never two of them.
 */
function creator(p: V1Principal): Pick<repo.StreamInsert, 'user_id' | 'apikey_id' | 'person_id'> {
  if (p.account_id !== undefined) return { user_id: p.account_id, apikey_id: null, person_id: null }
  if (p.person_id !== undefined) return { user_id: null, apikey_id: null, person_id: p.person_id }
  return { user_id: null, apikey_id: p.key_id ?? null, person_id: null }
}

/** A campaign stream that has not ended. */
const OPEN_LIVE: readonly LiveStatus[] = ['starting', 'live', 'paused']

/** Rows an export reads (and holds) at a time. */
export const EXPORT_PAGE_ROWS = 1000

/** What a new campaign live stream is made of. */
interface NewLiveStream {
  campaign: string
  owner: string
  title: string
  /** sha256 (hex) of the publishing key: the key itself is never stored (migration 036). */
  ingestKeyHash: string
  /** The playback URL needs the row id, so the link is set once the row exists. */
  playbackFor: (id: number) => string
  metadata: Record<string, unknown>
}

/** A campaign stream's row in `starting`, its link the playback URL. */
async function insertLive(db: Db, input: NewLiveStream): Promise<repo.StreamRow> {
  const placeholder = `campaign-stream:${input.ingestKeyHash}`
  const row = await repo.insert(db, {
    link: placeholder,
    normalized_link: placeholder,
    title: input.title,
    source: `campaign:${input.campaign}`,
    posted_by: input.owner,
    platform: 'other',
    kind: 'video',
    status: STATUS_BY_LIVE.starting,
    campaign_slug: input.campaign,
    owner_id: input.owner,
    live_status: 'starting',
    ingest_key_hash: input.ingestKeyHash,
    metadata: JSON.stringify(input.metadata),
  })
  if (!row) throw new Error('stream key collision')
  const link = input.playbackFor(Number(row.id))
  return (
    (await repo.update(db, Number(row.id), {
      link,
      normalized_link: normalizeLink(link) ?? `campaign-stream:${row.id}`,
    })) ?? row
  )
}

export function createStreamService(deps: {
  db: Db
  bus: EventBus
  accounts: Pick<AccountService, 'accounts'>
  /** Rows per export page (tests make it small); `EXPORT_PAGE_ROWS` by default. */
  exportPageRows?: number
  /** The bus refused a committed write's broadcast (Redis unreachable): `/cable` clients miss it. */
  onBroadcastError?: (err: unknown, action: StreamAction, streamId: number) => void
}) {
  const { db, bus } = deps

  const toJson = (rows: repo.StreamRow[]) => toStreamJson(rows, deps.accounts)
  const one = async (row: repo.StreamRow) => (await toJson([row]))[0]!

  /**
   * After a commit: the write stands whatever the bus does, so a bus that refuses the message
   * (Redis unreachable) makes it neither a 500 nor the end of a batch half applied.
   */
  async function broadcast(action: StreamAction, stream: StreamJson): Promise<void> {
    try {
      await bus.publish(CABLE_CHANNEL, {
        broadcasting: 'streams',
        message: { action, stream },
      } satisfies CableBroadcast)
    } catch (err) {
      deps.onBroadcastError?.(err, action, stream.id)
    }
  }

  /** Editors and admins create; changing needs ownership unless admin. */
  function canCreate(p: V1Principal) {
    if (p.role !== 'editor' && p.role !== 'admin') throw forbidden()
  }
  /** The owner is the account, the API key or the console person that created the stream (one of them). */
  function owns(p: V1Principal, row: repo.StreamRow) {
    if (p.account_id !== undefined) return row.user_id != null && Number(row.user_id) === p.account_id
    if (p.person_id !== undefined) return row.person_id === p.person_id
    return p.key_id !== undefined && row.apikey_id === p.key_id
  }
  function canChange(p: V1Principal, row: repo.StreamRow) {
    if (p.role === 'admin') return
    if (p.role !== 'editor' || !owns(p, row)) throw forbidden()
  }

  /**
   * A campaign's live stream that has not ended (starting, live or paused) is run by its campaign:
   * its owner or an admin steps it through `stream.start`/`stream.pause`/`stream.stop`, and each
   * step tells the campaign's pages (`stream_event`). A registry write (an update, a replace, a
   * delete, a batch item, a `/cable` cell) would change or remove it behind their back, so it is
   * refused (409 `LIVE_STREAM_OPEN`) until the stream has ended; campaign pages show no ended
   * stream, so from then on it is a registry row like any other. Ended is final and a row's
   * campaign never changes, so the row as read decides. Pin and archive stay open: campaign pages
   * show neither.
   */
  function notOpenLive(row: repo.StreamRow) {
    if (row.campaign_slug !== null && OPEN_LIVE.includes(row.live_status as LiveStatus)) {
      throw new V1Error(
        409,
        'LIVE_STREAM_OPEN',
        `Stream ${row.id} is a campaign live stream that has not ended: its owner or an admin ends it ` +
          'in the campaign (stream.stop) before it can be changed or deleted here',
      )
    }
  }
  /** Who may change the row, and whether it may be changed here (see `notOpenLive`). */
  function canEdit(p: V1Principal, row: repo.StreamRow) {
    canChange(p, row)
    notOpenLive(row)
  }

  async function load(id: number): Promise<repo.StreamRow> {
    const row = Number.isSafeInteger(id) && id > 0 ? await repo.findById(db, id) : undefined
    if (!row) throw notFound()
    return row
  }

  /** Status semantics: any status change is a check; going live is also a sighting. */
  function withTimestamps(patch: repo.StreamPatch, before?: repo.StreamRow): repo.StreamPatch {
    const now = new Date()
    if (patch.status !== undefined && patch.status !== before?.status) {
      if (patch.last_checked_at === undefined) patch.last_checked_at = now
      if (patch.status === 'live' && patch.last_live_at === undefined) patch.last_live_at = now
    }
    return patch
  }

  async function create(
    principal: V1Principal,
    input: StreamInput,
  ): Promise<{ stream: StreamJson; created: boolean }> {
    canCreate(principal)
    const { patch, normalized } = parseStreamInput(input, true)
    const existing = await repo.findByNormalizedLink(db, normalized!)
    if (existing?.is_archived) return { stream: await restore(existing), created: false }
    if (existing) return { stream: await one(existing), created: false }
    const row = await repo.insert(db, {
      ...(withTimestamps(patch) as repo.StreamInsert),
      link: patch.link!,
      normalized_link: normalized!,
      ...creator(principal),
    })
    // Lost a race with an identical link: answer with the row that won.
    if (!row)
      return { stream: await one((await repo.findByNormalizedLink(db, normalized!))!), created: false }
    const stream = await one(row)
    await broadcast('created', stream)
    return { stream, created: true }
  }

  /**
   * A link posted again after its stream was archived: StreamSource made a new, active stream of
   * it, so the one row of that link comes back (as it stood, its owner's) and walls, which took it
   * off on `archived`, hear `created`. Only the unarchiving of an archived row counts, so two such
   * posts at once announce it once.
   */
  async function restore(row: repo.StreamRow): Promise<StreamJson> {
    const back = await repo.unarchive(db, Number(row.id))
    if (!back) return one((await repo.findById(db, Number(row.id))) ?? row)
    const stream = await one(back)
    await broadcast('created', stream)
    return stream
  }

  async function applyPatch(
    row: repo.StreamRow,
    patch: repo.StreamPatch,
    normalized?: string,
  ): Promise<StreamJson> {
    // The same stream's link in another case (`twitch.tv/Foo` → `twitch.tv/foo`) is no new key:
    // the link shows as entered, and a key stored before names were folded is left as it is.
    if (normalized !== undefined && normalized !== canonicalLinkKey(row.normalized_link)) {
      const clash = await repo.findByNormalizedLink(db, normalized, Number(row.id))
      if (clash) throw invalid({ link: ['has already been taken'] })
      patch.normalized_link = normalized
    }
    const updated = await repo.update(db, Number(row.id), withTimestamps(patch, row)).catch((err) => {
      // The link was free when checked, but another request took it before this update: the
      // database's unique key says so, and the caller hears what the check would have said.
      if (patch.normalized_link !== undefined && (err as { code?: string }).code === UNIQUE_VIOLATION)
        throw invalid({ link: ['has already been taken'] })
      throw err
    })
    if (!updated) throw notFound()
    const stream = await one(updated)
    const archivedNow = !row.is_archived && updated.is_archived
    await broadcast(archivedNow ? 'archived' : 'updated', stream)
    return stream
  }

  async function update(principal: V1Principal, id: number, input: StreamInput): Promise<StreamJson> {
    const row = await load(id)
    canEdit(principal, row)
    const { patch, normalized } = parseStreamInput(input, false)
    return applyPatch(row, patch, normalized)
  }

  return {
    toJson,
    broadcast,
    create,
    update,
    /** Throws as `update` would (not found, forbidden, a campaign stream not ended): a cell lock needs it first. */
    async assertCanChange(principal: V1Principal, id: number): Promise<void> {
      canEdit(principal, await load(id))
    },
    async get(id: number): Promise<StreamJson> {
      return one(await load(id))
    },
    async list(filters: repo.StreamFilters, page: number, perPage: number): Promise<ListResult> {
      const { rows, total } = await repo.list(db, filters, { limit: perPage, offset: (page - 1) * perPage })
      return {
        streams: await toJson(rows),
        meta: {
          current_page: page,
          // StreamSource's own `(count / per_page).ceil`: 0 for an empty list, not Pagy's 1. A
          // client paging while `page < total_pages` stops at once either way; kept as deployed
          // clients have seen it.
          total_pages: Math.ceil(total / perPage),
          total_count: total,
          per_page: perPage,
        },
      }
    },
    /**
     * Every matching stream (export) in the list's order, a page at a time: an export of any size
     * is read and sent as it goes, never held whole, and never cut short.
     */
    async *exportPages(filters: repo.StreamFilters): AsyncGenerator<StreamJson[]> {
      const size = deps.exportPageRows ?? EXPORT_PAGE_ROWS
      let after: repo.ExportCursor | undefined
      for (;;) {
        const { rows, next } = await repo.exportPage(db, filters, size, after)
        if (rows.length > 0) yield toJson(rows)
        if (rows.length < size || !next) return
        after = next
      }
    },
    async remove(principal: V1Principal, id: number): Promise<void> {
      const row = await load(id)
      canEdit(principal, row)
      const removed = await repo.remove(db, Number(row.id))
      if (!removed) return
      const last = await one(removed)
      // The wire contract's walls know only created, updated and archived, and take a stream off
      // on `archived`: a deletion is that to them. `deleted` follows for clients that tell the two apart.
      await broadcast('archived', { ...last, is_archived: true })
      await broadcast('deleted', last)
    },
    async setPinned(principal: V1Principal, id: number, pinned: boolean): Promise<StreamJson> {
      const row = await load(id)
      canChange(principal, row)
      return applyPatch(row, { is_pinned: pinned })
    },
    async setArchived(principal: V1Principal, id: number, archived: boolean): Promise<StreamJson> {
      const row = await load(id)
      canChange(principal, row)
      return applyPatch(row, { is_archived: archived })
    },
    ...createBulkOperations({
      load,
      findByLink: (key) => repo.findByNormalizedLink(db, key),
      canCreate,
      canChange: canEdit,
      create,
      applyPatch,
    }),

    // Campaign live streams (issue 5) share the rows; these are their writes.
    /**
     * A new campaign stream, unless its owner already has `openLimit` streams in the campaign
     * that have not ended (409 `STREAM_LIMIT_REACHED`, naming them). The count and the insert
     * hold one lock per owner and campaign, so starts sent together cannot all pass the count.
     */
    async createLive(input: NewLiveStream & { openLimit: number }): Promise<repo.StreamRow> {
      const created = await db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtextextended(${`campaign-streams:${input.campaign}:${input.owner}`}, 0))`.execute(
          trx,
        )
        const open = await repo.openByOwner(trx, input.campaign, input.owner)
        if (open.length >= input.openLimit) {
          throw new ConflictError(
            `You already have ${open.length} streams in this campaign that have not ended (at most ${input.openLimit}); stop one first`,
            'STREAM_LIMIT_REACHED',
            { limit: input.openLimit, open_stream_ids: open },
          )
        }
        return insertLive(trx, input)
      })
      await broadcast('created', await one(created))
      return created
    },

    /**
     * Moves a campaign stream to `status` if it is still in one of `from` (checked by the update
     * itself, not by the earlier read): `undefined` when it no longer is.
     */
    async setLiveStatus(
      row: repo.StreamRow,
      from: readonly LiveStatus[],
      status: LiveStatus,
    ): Promise<repo.StreamRow | undefined> {
      const patch = withTimestamps({ live_status: status, status: STATUS_BY_LIVE[status] }, row)
      const updated = await repo.updateLive(db, Number(row.id), from, patch)
      if (updated) await broadcast('updated', await one(updated))
      return updated
    },
    /**
     * Erasure (in its transaction `trx`): `owner`'s campaign streams ended and stripped of what
     * names them (see `repo.eraseOwner`). `announce`, once the erasure has committed, tells
     * `/cable` of each change.
     */
    async eraseOwner(owner: string, trx: Db) {
      const erased = await repo.eraseOwner(trx, owner)
      const announce = async () => {
        for (const row of erased.rows) await broadcast('updated', await one(row))
      }
      return { ...erased, announce }
    },
    findRow: (id: number) =>
      Number.isSafeInteger(id) && id > 0 ? repo.findById(db, id) : Promise.resolve(undefined),
    liveRows: () => repo.live(db),
    /** The campaign stream whose publishing key hashes to `hash` (ended ones too: the caller decides). */
    findLiveByKeyHash: (hash: string) =>
      db
        .selectFrom('service_stream_main')
        .selectAll()
        .where('ingest_key_hash', '=', hash)
        .where('campaign_slug', 'is not', null)
        .executeTakeFirst(),
    /** A new publishing key for a stream still in one of `from`: `undefined` when it no longer is. */
    setIngestKeyHash: (row: repo.StreamRow, from: readonly LiveStatus[], hash: string) =>
      repo.updateLive(db, Number(row.id), from, { ingest_key_hash: hash }),
    /** A campaign's streams that have not ended, for visitors' REST read. */
    currentInCampaign: (campaign: string) => repo.currentInCampaign(db, campaign),
  }
}

export type StreamService = ReturnType<typeof createStreamService>
