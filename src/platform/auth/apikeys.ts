import { createHash, randomBytes } from 'node:crypto'
import { ulid } from 'ulid'
import type { Db } from '../db/database.js'
import type { Principal, Role } from './principal.js'

const PREFIX = 'ovs_'
const CACHE_MS = 30_000

export interface ApiKeyRecord {
  id: string
  name: string
  role: Role
  created_at: Date
  last_used_at: Date | null
  revoked_at: Date | null
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
   * A configured key that was revoked stays revoked.
   */
  create(input: { name: string; role: Role; key?: string }): Promise<ApiKeyRecord & { key: string }>
  list(): Promise<ApiKeyRecord[]>
  revoke(id: string): Promise<boolean>
  /** The principal for a key, or undefined when unknown or revoked. */
  authenticate(key: string): Promise<Principal | undefined>
}

export function createApiKeyService(deps: { db: Db }): ApiKeyService {
  const cache = new Map<string, { principal: Principal | undefined; until: number }>()
  const columns = ['id', 'name', 'role', 'created_at', 'last_used_at', 'revoked_at'] as const

  return {
    async create({ name, role, key }) {
      const id = ulid().slice(-12).toLowerCase()
      const secret = key ?? `${PREFIX}${id}_${randomBytes(32).toString('base64url')}`
      const row = await deps.db
        .insertInto('service_security_apikey')
        .values({ id, name, role, key_hash: hashApiKey(secret) })
        .onConflict((oc) => oc.column('key_hash').doUpdateSet({ name }))
        .returning(columns)
        .executeTakeFirstOrThrow()
      if (key !== undefined) {
        await deps.db
          .updateTable('service_security_apikey')
          .set({ revoked_at: new Date() })
          .where('name', '=', name)
          .where('id', '<>', row.id)
          .where('revoked_at', 'is', null)
          .execute()
        cache.clear()
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
    async revoke(id) {
      const res = await deps.db
        .updateTable('service_security_apikey')
        .set({ revoked_at: new Date() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      cache.clear()
      return Number(res.numUpdatedRows) > 0
    },
    async authenticate(key) {
      const hash = hashApiKey(key)
      const hit = cache.get(hash)
      if (hit && hit.until > Date.now()) return hit.principal
      const row = await deps.db
        .selectFrom('service_security_apikey')
        .select(['id', 'role', 'revoked_at'])
        .where('key_hash', '=', hash)
        .executeTakeFirst()
      const principal: Principal | undefined =
        row && !row.revoked_at
          ? {
              kind: 'apikey',
              user_id: `apikey:${row.id}`,
              session_id: `apikey:${row.id}`,
              roles: [row.role as Role],
            }
          : undefined
      if (row && principal) {
        await deps.db
          .updateTable('service_security_apikey')
          .set({ last_used_at: new Date() })
          .where('id', '=', row.id)
          .execute()
      }
      if (cache.size > 10_000) cache.clear()
      cache.set(hash, { principal, until: Date.now() + CACHE_MS })
      return principal
    },
  }
}
