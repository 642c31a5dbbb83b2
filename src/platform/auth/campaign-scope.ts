import { ForbiddenError } from '../http/errors.js'
import type { Principal } from './principal.js'

/**
 * An API key limited to some campaigns (`ovasabi apikey create --campaign`) used outside them:
 * 403 `API_KEY_CAMPAIGN_SCOPE`, naming the campaigns it may act on.
 */
export class ApiKeyCampaignScopeError extends ForbiddenError {
  constructor(message: string) {
    super(message, 'API_KEY_CAMPAIGN_SCOPE')
  }
}

const named = (campaigns: readonly string[]) => campaigns.join(', ')

/** True when the principal is an API key limited to some campaigns. */
export function isCampaignScoped(principal: Principal | undefined): boolean {
  return principal?.campaigns !== undefined
}

/** Throws unless the principal may act on `campaign` (any principal but a scoped key may). */
export function assertCampaignInScope(principal: Principal | undefined, campaign: string): void {
  const scope = principal?.campaigns
  if (!scope || scope.includes(campaign)) return
  throw new ApiKeyCampaignScopeError(
    `This API key is limited to the campaign(s) ${named(scope)} and may not act on ${campaign}`,
  )
}

/** Throws when the principal is a scoped key: the route acts on no single campaign, or on all. */
export function assertUnscoped(principal: Principal | undefined): void {
  const scope = principal?.campaigns
  if (!scope) return
  throw new ApiKeyCampaignScopeError(
    `This API key is limited to the campaign(s) ${named(scope)}; this route acts on no single campaign, ` +
      'so it needs a key for every campaign',
  )
}

/** The campaign a request names in its path (`/api/campaign/{slug}/…`, `/api/{campaign}/update`). */
export function campaignOfParams(params: unknown): string | undefined {
  if (!params || typeof params !== 'object') return undefined
  const p = params as Record<string, unknown>
  const slug = p.slug ?? p.campaign
  return typeof slug === 'string' ? slug : undefined
}

/** The campaign a request names in its body (`/api/quote`, `/api/referral`, `/api/user/register`, …). */
export function campaignOfBody(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined
  const b = body as Record<string, unknown>
  for (const field of ['campaign', 'campaign_id', 'campaign_slug'] as const) {
    if (typeof b[field] === 'string') return b[field] as string
  }
  return undefined
}
