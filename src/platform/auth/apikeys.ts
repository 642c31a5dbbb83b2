import { createHash, randomBytes } from 'node:crypto'
import { ulid } from 'ulid'
import type { EventBus } from '../bus/bus.js'
import type { Db } from '../db/database.js'
import { UnauthorizedError } from '../http/errors.js'
import type { Principal, Role } from './principal.js'

const PREFIX = 'ovs_'
/** A campaign's slug, as `/api/campaign/{slug}` takes it. */
export const CAMPAIGN_SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/
/** How long a node trusts what it read about a key; a revocation announced on the bus ends it at once. */
const CACHE_MS = 30_000
/** `{ ids }` of keys just revoked (by `revoke`, or by a configured key's rotation), on every node. */
export const APIKEY_REVOKED_CHANNEL = 'ovasabi:apikey:revoked'
/** How long after a failed subscription to the revocations a node asks the bus again. */
const SUBSCRIBE_RETRY_MS = 5000

export interface ApiKeyRecord {
  id: string
  name: string
  role: Role
  created_at: Date
  last_used_at: Date | null
  revoked_at: Date | null
  /** When the key stops working by itself; null: never. */
  expires_at: Date | null
  /** The campaign slugs the key may act on; null: every campaign. */
  campaigns: string[] | null
}

/**
 * A key past its `expires_at`: 401 `API_KEY_EXPIRED`, saying when, so an operator knows to make
 * a new one rather than look for a typo (a revoked or unknown key is `INVALID_API_KEY`).
 */
export class ApiKeyExpiredError extends UnauthorizedError {
  constructor(readonly expiredAt: Date) {
    super(`API key expired at ${expiredAt.toISOString()}; create a new one`, 'API_KEY_EXPIRED')
  }
}

/** What a node knows of a key: its principal (none when unknown or revoked) and when it expires. */
interface Verdict {
  principal: Principal | undefined
  /** ms since the epoch; checked at every use, cached or not. */
  expiresAt?: number
}

/** The principal of a verdict now: undefined when unknown or revoked; throws when expired. */
function principalOf(verdict: Verdict, now = Date.now()): Principal | undefined {
  if (verdict.principal && verdict.expiresAt !== undefined && verdict.expiresAt <= now)
    throw new ApiKeyExpiredError(new Date(verdict.expiresAt))
  return verdict.principal
}

/** Keys carry 256 bits of randomness, so a fast hash is enough; only the hash is stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** A signed token's shape (JWS compact serialization): three base64url parts. */
const JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/

/**
 * Whether a credential is to be checked as an API key: the keys we issue (`ovs_…`), and anything
 * not shaped like a signed token, such as an `OVASABI_ADMIN_KEY` an operator chose (any text of
 * 24 characters or more), which otherwise was stored at start and then refused as a bad token.
 */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(PREFIX) || !JWS.test(value)
}

export interface ApiKeyService {
  /**
   * Returns the key itself once; it cannot be read back later. A given `key` is a key from
   * configuration (`OVASABI_ADMIN_KEY`): it replaces the key configured before under that name,
   * which is revoked, so changing the setting rotates the key instead of adding a second one.
   * A configured key that was revoked stays revoked (its record says so: `revoked_at`) and
   * revokes nothing: setting an earlier key again (a stale node, a rollback) leaves the current one.
   * `expiresAt` (in the future, else a `RangeError`): from then on the key is refused,
   * `API_KEY_EXPIRED`; a configured key takes none (its setting decides how long it lives).
   * `campaigns` (at least one slug, else a `RangeError`): the key acts on those campaigns only
   * (403 `API_KEY_CAMPAIGN_SCOPE` elsewhere); absent, on every campaign.
   */
  create(input: {
    name: string
    role: Role
    key?: string
    expiresAt?: Date
    campaigns?: readonly string[]
  }): Promise<ApiKeyRecord & { key: string }>
  list(): Promise<ApiKeyRecord[]>
  /** One key's record by its id, or undefined when there is none (whatever text is asked). */
  get(id: string): Promise<ApiKeyRecord | undefined>
  /** Revokes the key; false when there is no active key of that id (whatever text is asked). */
  revoke(id: string): Promise<boolean>
  /**
   * The principal for a key, or undefined when unknown or revoked; an expired key throws
   * `ApiKeyExpiredError` (401 `API_KEY_EXPIRED`), from the cache as from the database.
   */
  authenticate(key: string): Promise<Principal | undefined>
}

export interface ApiKeyServiceDeps {
  db: Db
  /**
   * Where revocations are announced to every node (each drops its cached keys at once). Without
   * it, or when a message is lost, a revoked key is refused within the cache's 30 s.
   */
  bus?: Pick<EventBus, 'publish' | 'subscribe'>
  /** A revocation that could not be announced, or a subscription that failed (the cache's 30 s then bound it). */
  onError?: (err: unknown) => void
}

export function createApiKeyService(deps: ApiKeyServiceDeps): ApiKeyService {
  const cache = new Map<string, Verdict & { until: number }>()
  const columns = [
    'id',
    'name',
    'role',
    'created_at',
    'last_used_at',
    'revoked_at',
    'expires_at',
    'campaigns',
  ] as const
  /**
   * Bumped by every revocation heard of: a key read from the database before one is not cached
   * after it (the read may predate the revocation it was told of).
   */
  let generation = 0
  /**
   * The database check of each key being checked now: requests with a key this node holds no
   * answer for (at start, every 30 s, after any revocation) share it instead of each reading the
   * key and updating its row. A revocation heard drops them, as it drops the cache: a request made
   * after it never takes the answer of a check begun before it.
   */
  const checking = new Map<string, Promise<Verdict>>()
  const forgetAll = () => {
    generation++
    cache.clear()
    checking.clear()
  }

  /**
   * Subscribed at the first key checked, which waits for it before caching anything: a node holds
   * no key in its cache without hearing of its revocation. A failed subscription (Redis down) is
   * tried again at a check at most every few seconds, as the rate limiter retries Redis; meanwhile
   * keys are cached as without a bus.
   */
  let subscribed = false
  let subscribing: Promise<void> | undefined
  let retryAt = 0
  function listen(): Promise<void> | undefined {
    const bus = deps.bus
    if (!bus || subscribed) return undefined
    if (subscribing || Date.now() < retryAt) return subscribing
    subscribing = bus
      .subscribe(APIKEY_REVOKED_CHANNEL, forgetAll)
      .then(
        () => {
          subscribed = true
        },
        (err) => {
          retryAt = Date.now() + SUBSCRIBE_RETRY_MS
          deps.onError?.(err)
        },
      )
      .finally(() => {
        subscribing = undefined
      })
    return subscribing
  }

  /** Tell every node (this one included, already done) that these keys no longer work. */
  async function announce(ids: string[]) {
    forgetAll()
    if (ids.length === 0 || !deps.bus) return
    try {
      await deps.bus.publish(APIKEY_REVOKED_CHANNEL, { ids })
    } catch (err) {
      // The revocation is committed; other nodes refuse the key once their cache runs out.
      deps.onError?.(err)
    }
  }

  /** What a key's hash stands for, read from the database (and cached unless a revocation came between). */
  async function lookUp(hash: string): Promise<Verdict> {
    await listen()
    const seen = generation
    const row = await deps.db
      .selectFrom('service_security_apikey')
      .select(['id', 'role', 'revoked_at', 'expires_at', 'campaigns'])
      .where('key_hash', '=', hash)
      .executeTakeFirst()
    const expiresAt = row?.expires_at ? new Date(row.expires_at).getTime() : undefined
    const principal: Principal | undefined =
      row && !row.revoked_at
        ? {
            kind: 'apikey',
            user_id: `apikey:${row.id}`,
            session_id: `apikey:${row.id}`,
            roles: [row.role as Role],
            ...(row.campaigns ? { campaigns: Object.freeze([...row.campaigns]) } : {}),
          }
        : undefined
    // An expired key's use is no use: its row keeps the last time it worked.
    if (row && principal && !(expiresAt !== undefined && expiresAt <= Date.now())) {
      await deps.db
        .updateTable('service_security_apikey')
        .set({ last_used_at: new Date() })
        .where('id', '=', row.id)
        .execute()
    }
    const verdict = { principal, expiresAt }
    if (generation !== seen) return verdict
    if (cache.size > 10_000) cache.clear()
    cache.set(hash, { ...verdict, until: Date.now() + CACHE_MS })
    return verdict
  }

  return {
    async create({ name, role, key, expiresAt, campaigns }) {
      if (expiresAt !== undefined && !(expiresAt.getTime() > Date.now()))
        throw new RangeError(`An API key's expiry must be in the future (got ${expiresAt.toISOString()})`)
      if (campaigns !== undefined && campaigns.length === 0)
        throw new RangeError('A key limited to campaigns needs at least one campaign')
      for (const slug of campaigns ?? [])
        if (!CAMPAIGN_SLUG.test(slug)) throw new RangeError(`Not a campaign slug: ${JSON.stringify(slug)}`)
      // A configured key (OVASABI_ADMIN_KEY) always acts on every campaign.
      const scope = key === undefined && campaigns ? JSON.stringify([...new Set(campaigns)].sort()) : null
      const id = ulid().slice(-12).toLowerCase()
      const secret = key ?? `${PREFIX}${id}_${randomBytes(32).toString('base64url')}`
      const expires_at = key === undefined ? (expiresAt ?? null) : null
      const row = await deps.db
        .insertInto('service_security_apikey')
        .values({ id, name, role, key_hash: hashApiKey(secret), expires_at, campaigns: scope })
        .onConflict((oc) => oc.column('key_hash').doUpdateSet({ name }))
        .returning(columns)
        .executeTakeFirstOrThrow()
      // A configured key revoked before (rotated out, or by an admin) stays revoked, and then
      // rotates nothing out: a node started with a stale setting must not take the current key
      // down with it, or no configured key would work at all. Only keys stored before this one
      // go: a stale node that starts while the new setting is being stored (a rolling deploy)
      // finds its key not yet revoked, and would otherwise revoke the newer key as well.
      if (key !== undefined && !row.revoked_at) {
        const revoked = await deps.db
          .updateTable('service_security_apikey')
          .set({ revoked_at: new Date() })
          .where('name', '=', name)
          .where('id', '<>', row.id)
          .where('revoked_at', 'is', null)
          // Compared in the database: a JavaScript date drops the microseconds.
          .where('created_at', '<', (eb) =>
            eb.selectFrom('service_security_apikey').select('created_at').where('id', '=', row.id),
          )
          .returning('id')
          .execute()
        await announce(revoked.map((r) => r.id))
      }
      return { ...(row as ApiKeyRecord), key: secret }
    },
    async list() {
      return (await deps.db
        .selectFrom('service_security_apikey')
        .select(columns)
        .orderBy('created_at')
        .execute()) as ApiKeyRecord[]
    },
    async get(id) {
      // No id holds a NUL, and the database refuses to compare with one (an error, not "none").
      if (id.includes('\u0000')) return undefined
      return (await deps.db
        .selectFrom('service_security_apikey')
        .select(columns)
        .where('id', '=', id)
        .executeTakeFirst()) as ApiKeyRecord | undefined
    },
    async revoke(id) {
      // As in `get`: no key holds a NUL, and the database would refuse the comparison with an error.
      if (id.includes('\u0000')) return false
      const revoked = await deps.db
        .updateTable('service_security_apikey')
        .set({ revoked_at: new Date() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returning('id')
        .execute()
      await announce(revoked.map((r) => r.id))
      return revoked.length > 0
    },
    async authenticate(key) {
      const hash = hashApiKey(key)
      const hit = cache.get(hash)
      if (hit && hit.until > Date.now()) return principalOf(hit)
      const running = checking.get(hash)
      if (running) return principalOf(await running)
      const check = lookUp(hash).finally(() => {
        if (checking.get(hash) === check) checking.delete(hash)
      })
      checking.set(hash, check)
      return principalOf(await check)
    },
  }
}
