import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { hasRole, type Principal } from '../../platform/auth/principal.js'
import { ConflictError, ForbiddenError, NotFoundError } from '../../platform/http/errors.js'
import { createPeriodic } from '../../platform/periodic.js'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import { campaignStatus, hasFeature, Slug } from '../campaign/campaign.schema.js'
import { CACHE_SWEEP_INTERVAL_MS } from './cache-sweep.js'
import { TRANSLATABLE } from './localization.actions.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import {
  Catalog,
  CatalogResponse,
  LanguagesResponse,
  TranslateBody,
  type TranslateInput,
  TranslateResult,
} from './localization.schema.js'
import type { LocalizationService } from './localization.service.js'

export interface LocalizationRoutesOptions {
  localization: LocalizationService
  campaigns: Pick<CampaignService, 'get'>
}

function catalogResponse(slug: string, entries: Catalog) {
  const locales = new Set<string>()
  for (const byLocale of Object.values(entries)) for (const l of Object.keys(byLocale)) locales.add(l)
  return { campaign: slug, keys: Object.keys(entries).length, locales: [...locales].sort(), entries }
}

/**
 * The campaign whose catalog is asked for. A draft is not announced yet: its strings (a launch's
 * copy) are its editors' only, and to anyone else it is 404 `CAMPAIGN_NOT_FOUND`, word for word
 * what an unknown slug gets, as `getCampaign` answers.
 */
async function announcedCampaign(
  campaigns: Pick<CampaignService, 'get'>,
  slug: string,
  principal: Principal | undefined,
) {
  const campaign = await campaigns.get(slug)
  if (campaignStatus(campaign) === 'draft' && !hasRole(principal, 'editor'))
    throw new NotFoundError(`Campaign ${slug} does not exist`, 'CAMPAIGN_NOT_FOUND')
  return campaign
}

export const localizationRoutes: FastifyPluginAsync<LocalizationRoutesOptions> = async (
  app,
  { localization, campaigns },
) => {
  // Cached translations unused for the retention go, at start and then periodically.
  const sweeper = createPeriodic(
    async () => {
      const removed = await localization.sweepCache()
      if (removed > 0) app.log.info({ removed }, 'unused cached translations removed')
    },
    (err) => app.log.warn({ err }, 'sweeping the translation cache failed'),
    CACHE_SWEEP_INTERVAL_MS,
  )
  app.addHook('onReady', async () => {
    // The first probe finds the upstream's state known, or its check under way.
    void localization.health()
    await sweeper.start()
  })
  app.addHook('preClose', () => sweeper.stop())

  const tags = ['localization']
  const SlugParams = Type.Object({ slug: Slug })

  app.post(
    '/api/translate',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'translate',
        tags,
        security: SecuredBy,
        description:
          'Translate strings with context. Answered, per string, by the campaign catalog (when `campaign_id` is ' +
          'given), the translation cache, or LibreTranslate. 503 `TRANSLATION_UNAVAILABLE` carries the source ' +
          'text as `details.fallback`. A draft `campaign_id` is 409 `CAMPAIGN_NOT_ACTIVE`; a scheduled, ' +
          'ended or archived one is translated (its page is public).',
        body: TranslateBody,
        response: { 200: TranslateResult, ...errors(400, 401, 403, 404, 409, 422, 503) },
      },
    },
    async (request) => {
      const body = request.body as TranslateInput
      if (body.campaign_id) {
        // The same checks the action path makes, so both routes agree on who may use a catalog.
        const campaign = await campaigns.get(body.campaign_id)
        const status = campaignStatus(campaign)
        if (!TRANSLATABLE.includes(status)) {
          throw new ConflictError(`Campaign ${campaign.slug} is ${status}`, 'CAMPAIGN_NOT_ACTIVE', { status })
        }
        if (!hasFeature(campaign, 'translation')) {
          throw new ForbiddenError(
            `The translation feature is not enabled for ${campaign.slug}`,
            'FEATURE_DISABLED',
          )
        }
      }
      return localization.translate(body, body.campaign_id)
    },
  )

  app.get(
    '/api/translate/languages',
    {
      schema: {
        operationId: 'translationLanguages',
        tags,
        description:
          "LibreTranslate's languages, and the locales of a campaign's catalog when `campaign_id` is given " +
          '(a draft is 404 `CAMPAIGN_NOT_FOUND`, as an unknown slug is).',
        querystring: Type.Object({ campaign_id: Type.Optional(Slug) }),
        response: { 200: LanguagesResponse, ...errors(400, 404) },
      },
    },
    async (request) => {
      const { campaign_id } = request.query as { campaign_id?: string }
      // Public: no principal, so a draft is unknown here to everyone (its editors read its catalog).
      if (campaign_id) await announcedCampaign(campaigns, campaign_id, undefined)
      return localization.languages(campaign_id)
    },
  )

  app.put(
    '/api/campaign/:slug/catalog',
    {
      // Campaign content, like the campaign itself: editors manage it.
      onRequest: app.requireRole('editor'),
      schema: {
        operationId: 'putCampaignCatalog',
        tags,
        security: SecuredBy,
        description:
          'Replace the campaign translation catalog: key → locale → text (editor or admin). Locale tags are ' +
          'stored in BCP 47 case (`FR` → `fr`, `pt_br` → `pt-BR`); one locale twice in a key is 422 ' +
          '`DUPLICATE_LOCALE`. Every locale of a key must use the same ICU `{placeholders}` (422 ' +
          '`PLACEHOLDER_MISMATCH` otherwise).',
        params: SlugParams,
        body: Catalog,
        response: { 200: CatalogResponse, ...errors(400, 401, 403, 404, 413, 422) },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      await campaigns.get(slug)
      return catalogResponse(slug, await localization.putCatalog(slug, request.body as Catalog))
    },
  )

  app.get(
    '/api/campaign/:slug/catalog',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'getCampaignCatalog',
        tags,
        security: SecuredBy,
        description:
          "The campaign's catalog (UI strings are public to the campaign's sessions). A draft's is 404 " +
          '`CAMPAIGN_NOT_FOUND` to all but editors, as an unknown slug is.',
        params: SlugParams,
        response: { 200: CatalogResponse, ...errors(401, 404) },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      await announcedCampaign(campaigns, slug, request.principal)
      return catalogResponse(slug, await localization.getCatalog(slug))
    },
  )
}
