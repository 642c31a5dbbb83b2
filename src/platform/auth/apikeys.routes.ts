import type { FastifyPluginAsync } from 'fastify'
import type { CampaignService } from '../../modules/campaign/campaign.service.js'
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../http/errors.js'
import { errors, SecuredBy } from '../http/schemas.js'
import type { ApiKeyRecord, ApiKeyService } from './apikeys.js'
import {
  ApiKeyList,
  ApiKeyParams,
  type ApiKeySummary,
  CreateApiKeyBody,
  CreatedApiKey,
  RevokedApiKey,
} from './apikeys.schema.js'
import { hasRole } from './principal.js'

/** The record of the key from configuration: its setting decides it, not this API. */
export const CONFIGURED_KEY_NAME = 'OVASABI_ADMIN_KEY'

export interface ApiKeyRoutesOptions {
  apiKeys: Pick<ApiKeyService, 'create' | 'list' | 'get' | 'revoke'>
  campaigns: Pick<CampaignService, 'existingSlugs'>
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString())

function summary(k: ApiKeyRecord, now = Date.now()): ApiKeySummary {
  const expired = k.expires_at !== null && new Date(k.expires_at).getTime() <= now
  return {
    id: k.id,
    name: k.name,
    role: k.role,
    campaigns: k.campaigns,
    status: k.revoked_at ? 'revoked' : expired ? 'expired' : 'active',
    created_at: iso(k.created_at)!,
    expires_at: iso(k.expires_at),
    last_used_at: iso(k.last_used_at),
    revoked_at: iso(k.revoked_at),
  }
}

/** When a key made now expires: `expires_in_seconds` or `expires_at` (one, and in the future), or never. */
function expiryOf(body: CreateApiKeyBody): Date | undefined {
  if (body.expires_in_seconds !== undefined && body.expires_at !== undefined)
    throw new ValidationError('Give expires_in_seconds or expires_at, not both', [
      { field: 'expires_at', message: 'not with expires_in_seconds' },
    ])
  if (body.expires_in_seconds !== undefined) return new Date(Date.now() + body.expires_in_seconds * 1000)
  if (body.expires_at === undefined) return undefined
  const at = new Date(body.expires_at)
  // The format admits a leap second (`23:59:60`), which a Date cannot hold: not "in the past".
  if (Number.isNaN(at.getTime()))
    throw new ValidationError('expires_at is not a time that can be stored; use 23:59:59 for a leap second', [
      { field: 'expires_at', message: 'must be a date and time a clock shows' },
    ])
  if (!(at.getTime() > Date.now()))
    throw new ValidationError('expires_at must be in the future', [
      { field: 'expires_at', message: 'must be in the future' },
    ])
  return at
}

/**
 * `/api/apikeys`: what `ovasabi apikey create|list|revoke` does, for an admin over the API (an
 * admin person or an admin key for every campaign; `requireRole` refuses a campaign-scoped key,
 * so no scoped key can make a key).
 */
export const apiKeyRoutes: FastifyPluginAsync<ApiKeyRoutesOptions> = async (app, { apiKeys, campaigns }) => {
  const tags = ['apikeys']

  app.post(
    '/api/apikeys',
    {
      onRequest: app.requireRole('admin'),
      // Minting credentials: tighter than the global limit, per client network like it.
      config: { rateLimit: { max: 30, timeWindow: '1 minute' } },
      schema: {
        operationId: 'createApiKey',
        tags,
        security: SecuredBy,
        description:
          'Make an API key (admin: an admin person or an admin key for every campaign; a campaign-scoped key ' +
          'is 403 `API_KEY_CAMPAIGN_SCOPE`). The key is in this answer only; only its hash is stored. ' +
          '`campaigns` limits it to those campaigns, which must exist (404 `CAMPAIGN_NOT_FOUND` names the ' +
          'unknown ones). `expires_in_seconds` or `expires_at` (not both) ends it by itself. No role above ' +
          "the caller's (403 `ROLE_ABOVE_CALLER`); the name `OVASABI_ADMIN_KEY` is the configured key's " +
          '(409 `API_KEY_NAME_RESERVED`). Each creation is logged.',
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const body = request.body as CreateApiKeyBody
      const actor = request.principal!
      // An admin may make any role; the rule stays explicit should a lesser role reach this route.
      if (!hasRole(actor, body.role))
        throw new ForbiddenError(
          `A key may not have a role above the caller's (${body.role})`,
          'ROLE_ABOVE_CALLER',
        )
      if (body.name === CONFIGURED_KEY_NAME)
        throw new ConflictError(
          `${CONFIGURED_KEY_NAME} names the key from the server's configuration; choose another name`,
          'API_KEY_NAME_RESERVED',
        )
      const expiresAt = expiryOf(body)
      let scope: string[] | undefined
      if (body.campaigns) {
        scope = [...new Set(body.campaigns)]
        // One query for the whole list (up to 50 slugs), not one per campaign.
        const found = await campaigns.existingSlugs(scope)
        const unknown = scope.filter((slug) => !found.has(slug))
        if (unknown.length > 0)
          throw new NotFoundError(
            `No campaign ${unknown.join(', ')}: a key can only be limited to campaigns that exist`,
            'CAMPAIGN_NOT_FOUND',
          )
      }
      const key = await apiKeys.create({ name: body.name, role: body.role, expiresAt, campaigns: scope })
      request.log.info(
        {
          audit: 'apikey.create',
          actor: actor.user_id,
          actor_kind: actor.kind,
          key_id: key.id,
          role: key.role,
          campaigns: key.campaigns,
          expires_at: iso(key.expires_at),
        },
        'API key created',
      )
      reply.code(201)
      return {
        id: key.id,
        key: key.key,
        name: key.name,
        role: key.role,
        campaigns: key.campaigns,
        expires_at: iso(key.expires_at),
        created_at: iso(key.created_at)!,
      }
    },
  )

  app.get(
    '/api/apikeys',
    {
      onRequest: app.requireRole('admin'),
      schema: {
        operationId: 'listApiKeys',
        tags,
        security: SecuredBy,
        description:
          'Every API key, newest first, revoked and expired ones included (`status`), for an admin. ' +
          'Never the key itself nor its hash.',
        response: { 200: ApiKeyList, ...errors(401, 403) },
      },
    },
    async () => {
      const now = Date.now()
      const keys = (await apiKeys.list()).map((k) => summary(k, now))
      return { keys: keys.reverse() }
    },
  )

  app.delete(
    '/api/apikeys/:id',
    {
      onRequest: app.requireRole('admin'),
      schema: {
        operationId: 'revokeApiKey',
        tags,
        security: SecuredBy,
        params: ApiKeyParams,
        description:
          'Revoke an API key: refused on every node at once (401 `INVALID_API_KEY`). Revoking a revoked key ' +
          'answers the same, with when it was revoked; an unknown id is 404 `API_KEY_NOT_FOUND`. The key from ' +
          'the configuration (`OVASABI_ADMIN_KEY`) is 409 `CONFIGURED_API_KEY`: change the setting to rotate ' +
          'it. Each revocation is logged.',
        response: { 200: RevokedApiKey, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const actor = request.principal!
      const found = await apiKeys.get(id)
      if (!found) throw new NotFoundError(`No API key ${id}`, 'API_KEY_NOT_FOUND')
      if (found.name === CONFIGURED_KEY_NAME)
        throw new ConflictError(
          `Key ${id} is ${CONFIGURED_KEY_NAME}, from the server's configuration: change the setting to rotate it`,
          'CONFIGURED_API_KEY',
        )
      if (found.revoked_at) return { id, status: 'revoked' as const, revoked_at: iso(found.revoked_at)! }
      const revoked = await apiKeys.revoke(id)
      request.log.info(
        { audit: 'apikey.revoke', actor: actor.user_id, actor_kind: actor.kind, key_id: id, revoked },
        'API key revoked',
      )
      // Read back rather than taken from here: a revocation that came first (another admin's) stands.
      const now = await apiKeys.get(id)
      return { id, status: 'revoked' as const, revoked_at: iso(now?.revoked_at ?? new Date())! }
    },
  )
}
