import { createHash } from 'node:crypto'
import type { Insertable } from 'kysely'
import type { Config } from '../../config.js'
import type { Db } from '../../platform/db/database.js'
import type { MediaMainTable } from '../../platform/db/tables.js'
import { clientNetwork } from '../../platform/http/client-network.js'
import { AppError } from '../../platform/http/errors.js'
import { formatBytes } from './sizes.js'
import type { WriteGroup } from '../../nexus/registry.js'
import * as repo from './media.repo.js'
import type { UploadTicket } from './media.schema.js'

export type QuotaConfig = Pick<
  Config,
  'MEDIA_CAMPAIGN_QUOTA_BYTES' | 'MEDIA_USER_QUOTA_BYTES' | 'MEDIA_GUEST_NETWORK_QUOTA_BYTES'
>

/**
 * An upload in flight keeps its reservation this long after its URL expired and its row was last
 * written (a heartbeat while its bytes arrive, see `HEARTBEAT_MS`): far longer than any upload
 * goes without a byte, short enough that one a crashed process left behind frees its bytes (and
 * the sweep then fails it, `interrupted`).
 */
export const IN_FLIGHT_GRACE_MS = 24 * 60 * 60 * 1000

/**
 * How often an upload whose bytes are arriving writes its row, so one that takes longer than the
 * grace (a large file on a slow link) is never taken for one a crash interrupted.
 */
export const HEARTBEAT_MS = 5 * 60 * 1000

/** One `media.upload` waiting for its commit: the row to insert and the ticket to answer. */
export interface Reservation {
  row: Insertable<MediaMainTable> & { max_bytes: number }
  ticket: UploadTicket
  /** The per-file limit before any quota (kept: a retried batch must not start from a cut one). */
  limit: number
  /** The size the client declared, if any: less than that left is a refusal. */
  declared?: number
  /** Whose quota the uploader's bytes count against (see `ownerScope`); else the row's alone. */
  owner?: repo.QuotaScope
}

/**
 * A guest's upload counts in its client network's budget for the campaign (`guestNetworkScope`),
 * kept on the row as a hash of the campaign and the network (an IPv4 address, an IPv6 /64: see
 * `clientNetwork`), so the address itself is never stored. People's uploads have none.
 */
export function guestNetworkOf(owner: { user_id: string }, campaign: string, ip: string | undefined) {
  if (owner.user_id !== 'guest' || !ip) return undefined
  return createHash('sha256')
    .update(`media\u0000${campaign}\u0000${clientNetwork(ip)}`)
    .digest('hex')
    .slice(0, 32)
}

/** The guest-network budget a row counts in, if it is a guest's upload with a network recorded. */
const networkScope = (row: {
  campaign_slug: string
  owner_user_id: string
  metadata: unknown
}): repo.GuestNetworkScope | undefined => {
  const network = (row.metadata as { guest_network?: unknown } | null)?.guest_network
  return row.owner_user_id === 'guest' && typeof network === 'string'
    ? { guest_network: network, campaign_slug: row.campaign_slug }
    : undefined
}

/** Where the sessions a person joined or logged in from are found (the user service). */
export interface People {
  sessionIds(userId: string): Promise<string[]>
}

/** Whose quota an upload would exceed (`details.quota`). */
export type QuotaKind = 'campaign' | 'uploader' | 'guest_network'

/** 413: the upload URL would let the campaign or the uploader hold more than its quota. */
export class StorageQuotaExceededError extends AppError {
  /** `needs`: what the bytes asked for are, in the message (an upload, or its thumbnail). */
  constructor(scope: QuotaKind, limit: number, used: number, needed: number, needs = 'this upload needs') {
    const left = Math.max(0, limit - used)
    const whose = scope === 'campaign' ? "this campaign's" : 'your'
    super(
      413,
      'STORAGE_QUOTA_EXCEEDED',
      scope === 'guest_network'
        ? `Guests on your network have uploaded ${formatBytes(used)} of the ${formatBytes(limit)} they may upload to this campaign in 24 hours; ${needs} ${formatBytes(needed)}: join the campaign to upload more, or try later`
        : left === 0
          ? `All of ${whose} storage quota (${formatBytes(limit)}) is in use: delete media, or wait for open upload URLs to be used or expire`
          : `Only ${formatBytes(left)} of ${whose} storage quota (${formatBytes(limit)}) is left; ${needs} ${formatBytes(needed)}`,
      { details: { quota: scope, limit_bytes: limit, used_bytes: used, remaining_bytes: left } },
    )
  }
}

/**
 * The uploader quota an upload of `owner` counts against: a guest's session, or the person, whose
 * one budget holds their guest uploads from every session they continued (`people`) and this one,
 * so joining or logging in elsewhere hands nobody a fresh one. Of the sessions continued, only
 * those a guest uploaded from are named: each is a lock to take, and one who logs in often has
 * many (a guest's first upload in one racing the person's is at most one file over).
 */
export async function ownerScope(
  db: Db,
  people: People | undefined,
  owner: { user_id: string; session_id: string },
): Promise<repo.QuotaScope> {
  if (owner.user_id === 'guest') return { session_id: owner.session_id }
  const continued = (await people?.sessionIds(owner.user_id)) ?? []
  const holding = await repo.sessionsWithGuestMedia(db, continued)
  return { user_id: owner.user_id, guest_sessions: [...new Set([owner.session_id, ...holding])] }
}

/** `ownerScope` without the sessions a person continued: only the one the row came from. */
const rowScope = (row: { owner_user_id: string; owner_session_id: string }): repo.QuotaScope =>
  row.owner_user_id === 'guest'
    ? { session_id: row.owner_session_id }
    : { user_id: row.owner_user_id, guest_sessions: [row.owner_session_id] }

/**
 * The locks of the scopes an upload's bytes count in. A person's include those of their guest
 * sessions: a guest upload there counts for the person too.
 */
const lockNames = (scope: repo.QuotaScope): string[] =>
  'campaign' in scope
    ? [`media-quota:campaign:${scope.campaign}`]
    : 'guest_network' in scope
      ? [`media-quota:network:${scope.campaign_slug}:${scope.guest_network}`]
      : 'user_id' in scope
        ? [
            `media-quota:user:${scope.user_id}`,
            ...(scope.guest_sessions ?? []).map((id) => `media-quota:session:${id}`),
          ]
        : [`media-quota:session:${scope.session_id}`]

/**
 * Inserts the upload rows of a commit batch under their campaigns' and uploaders' quota locks.
 * Each reservation gets its declared size, else what is left up to its per-file limit (the
 * ticket's `max_bytes` says so); one that would not fit fails its request with 413
 * `STORAGE_QUOTA_EXCEEDED`.
 */
export function reservationWriter(config: QuotaConfig): WriteGroup<Reservation> {
  return {
    async write(trx, items) {
      const owners = items.map((i) => i.owner ?? rowScope(i.row))
      const networks = items.map((i) => networkScope(i.row))
      const scopes = items.flatMap((i, n) => [
        { campaign: i.row.campaign_slug },
        owners[n]!,
        ...(networks[n] ? [networks[n]] : []),
      ])
      await repo.lockQuotas(trx, scopes.flatMap(lockNames))
      const now = new Date()
      const since = new Date(now.getTime() - IN_FLIGHT_GRACE_MS)
      // One by one: a later reservation of the batch sees the rows the earlier ones inserted.
      for (const [n, item] of items.entries()) {
        const campaignUsed = await repo.usage(trx, { campaign: item.row.campaign_slug }, now, since)
        const ownerUsed = await repo.usage(trx, owners[n]!, now, since)
        const campaignLeft = config.MEDIA_CAMPAIGN_QUOTA_BYTES - campaignUsed
        const ownerLeft = config.MEDIA_USER_QUOTA_BYTES - ownerUsed
        const network = networks[n]
        const networkUsed = network ? await repo.usage(trx, network, now, since) : 0
        const networkLeft = network ? config.MEDIA_GUEST_NETWORK_QUOTA_BYTES - networkUsed : Infinity
        const allowed = Math.min(item.limit, campaignLeft, ownerLeft, networkLeft)
        const needed = item.declared ?? 1
        // The network's budget is told first when it alone is short: another session would not help.
        if (network && networkLeft < needed && campaignLeft >= needed && ownerLeft >= needed) {
          throw new StorageQuotaExceededError(
            'guest_network',
            config.MEDIA_GUEST_NETWORK_QUOTA_BYTES,
            networkUsed,
            needed,
          )
        }
        if (allowed < needed) {
          throw campaignLeft <= ownerLeft
            ? new StorageQuotaExceededError(
                'campaign',
                config.MEDIA_CAMPAIGN_QUOTA_BYTES,
                campaignUsed,
                needed,
              )
            : new StorageQuotaExceededError('uploader', config.MEDIA_USER_QUOTA_BYTES, ownerUsed, needed)
        }
        // A declared size is what the URL takes (a different body is refused), so only it is held.
        const reserved = item.declared ?? allowed
        item.row.max_bytes = reserved
        item.ticket.max_bytes = reserved
        await repo.insert(trx, item.row)
      }
    },
  }
}

/**
 * Takes room for what an upload stores when it does not fit in what its upload URL reserved: its
 * original as stored (`size`: what was uploaded, or less or more once its metadata is removed) and
 * the files made from it (its thumbnail, `derived` bytes). Under the same quota locks as
 * reservations, it records both on the row before they are written. Answers the 413 to fail the
 * upload with when either quota has no room, or 'gone' when the row was deleted meanwhile.
 * `owner`: its uploader's quota (see `ownerScope`).
 */
export async function claimStored(
  db: Db,
  config: QuotaConfig,
  row: repo.MediaRow,
  owner: repo.QuotaScope,
  size: number,
  derived: number,
): Promise<'claimed' | 'gone' | StorageQuotaExceededError> {
  return db.transaction().execute(async (trx) => {
    const campaign = { campaign: row.campaign_slug }
    const network = networkScope(row)
    await repo.lockQuotas(trx, [
      ...lockNames(campaign),
      ...lockNames(owner),
      ...(network ? lockNames(network) : []),
    ])
    const now = new Date()
    const since = new Date(now.getTime() - IN_FLIGHT_GRACE_MS)
    // Everything else the scope holds, and this media as it will be: original and thumbnail.
    const needed = size + derived
    const needs = 'with its thumbnail this upload needs'
    // Told in this order: the campaign's, the uploader's, then a guest's network's.
    const budgets: Array<readonly [QuotaKind, repo.QuotaScope, number]> = [
      ['campaign', campaign, config.MEDIA_CAMPAIGN_QUOTA_BYTES],
      ['uploader', owner, config.MEDIA_USER_QUOTA_BYTES],
      ...(network ? [['guest_network', network, config.MEDIA_GUEST_NETWORK_QUOTA_BYTES] as const] : []),
    ]
    for (const [kind, scope, limit] of budgets) {
      const used = await repo.usage(trx, scope, now, since, row.id)
      if (used + needed > limit) return new StorageQuotaExceededError(kind, limit, used, needed, needs)
    }
    return (await repo.setStoredBytes(trx, row.id, size, derived)) ? 'claimed' : 'gone'
  })
}
