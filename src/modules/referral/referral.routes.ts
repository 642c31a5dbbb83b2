import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { hasRole } from '../../platform/auth/principal.js'
import { ForbiddenError, NotFoundError } from '../../platform/http/errors.js'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import { assertActionAllowed } from '../campaign/campaign.guard.js'
import { campaignStatus, hasFeature, Slug } from '../campaign/campaign.schema.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import { ApplyBody, ApplyResponse, AuditEntry, LeaderboardResponse } from './referral.schema.js'
import { leaderboardSize } from './referral.rules.js'
import { GUEST, refusals, type ReferralService } from './referral.service.js'

export interface ReferralRoutesOptions {
  referrals: ReferralService
  campaigns: Pick<CampaignService, 'get'>
}

const SlugParams = Type.Object({ slug: Slug })

export const referralRoutes: FastifyPluginAsync<ReferralRoutesOptions> = async (
  app,
  { referrals, campaigns },
) => {
  const tags = ['referral']

  app.post(
    '/api/referral',
    {
      onRequest: async (request) => {
        await app.authenticate(request)
        // A visitor's page is told what to do (register first), before their body is looked at.
        if (request.principal!.user_id === GUEST) throw refusals.notMember()
        if (!hasRole(request.principal, 'participant'))
          throw new ForbiddenError('This requires the participant role')
      },
      schema: {
        operationId: 'applyReferral',
        tags,
        security: SecuredBy,
        description:
          'Apply a referral code as the registered caller (same service as the `referral.apply` action). Refusals: ' +
          'UNKNOWN_REFERRAL_CODE, OWN_REFERRAL_CODE, ALREADY_REFERRED, REFERRAL_IP_LIMIT_REACHED, DISPOSABLE_EMAIL, ' +
          'MUTUAL_REFERRAL, MAX_REFERRALS_REACHED, REGISTRATION_REQUIRED (a guest session, or not a member of the campaign).',
        body: ApplyBody,
        response: { 200: ApplyResponse, ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const body = request.body as ApplyBody
      const campaign = await campaigns.get(body.campaign)
      assertActionAllowed(campaign, 'referral')
      const principal = request.principal!
      return referrals.apply(campaign, {
        userId: principal.user_id,
        sessionId: principal.session_id,
        ip: request.ip,
        code: body.code,
      })
    },
  )

  app.get(
    '/api/campaign/:slug/referrals/leaderboard',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'getReferralLeaderboard',
        tags,
        security: SecuredBy,
        description:
          'Top referrers by qualified referrals; any session of the campaign; display names only. A draft ' +
          'is 404 `CAMPAIGN_NOT_FOUND` to all but editors, as an unknown slug is.',
        params: SlugParams,
        querystring: Type.Object({
          limit: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 100,
              description:
                "Default: the campaign's `custom_rules.leaderboard_size` (10 unless set), as `stats_update` lists",
            }),
          ),
        }),
        response: { 200: LeaderboardResponse, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      const campaign = await campaigns.get(slug)
      // A draft is not announced yet: its referrers' names are not public, nor is it (see getCampaign).
      if (campaignStatus(campaign) === 'draft' && !hasRole(request.principal, 'editor'))
        throw new NotFoundError(`Campaign ${slug} does not exist`, 'CAMPAIGN_NOT_FOUND')
      if (!hasFeature(campaign, 'referral')) {
        throw new ForbiddenError(`The referral feature is not enabled for ${slug}`, 'FEATURE_DISABLED')
      }
      return {
        campaign: slug,
        // Without a limit, the board `stats_update` carries: one length for the page and the socket.
        entries: await referrals.leaderboard(
          slug,
          (request.query as { limit?: number }).limit ?? leaderboardSize(campaign),
        ),
      }
    },
  )

  app.get(
    '/api/campaign/:slug/referrals/audit',
    {
      onRequest: app.requireRole('editor'),
      schema: {
        operationId: 'getReferralAudit',
        tags,
        security: SecuredBy,
        description:
          'Referral state changes and refused attempts, newest first; page with `before` (the last `id` you saw).',
        params: SlugParams,
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
        }),
        response: { 200: Type.Object({ entries: Type.Array(AuditEntry) }), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      await campaigns.get(slug)
      const { limit, before } = request.query as { limit: number; before?: number }
      const rows = await referrals.audit(slug, limit, before)
      return {
        entries: rows.map((r) => ({
          ...r,
          id: Number(r.id),
          referral_id: r.referral_id === null ? null : Number(r.referral_id),
          at: r.at.toISOString(),
        })),
      }
    },
  )
}
