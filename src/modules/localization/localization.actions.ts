import type { ActionRegistry } from '../../nexus/registry.js'
import { BadRequestError } from '../../platform/http/errors.js'
import type { CampaignStatus } from '../campaign/campaign.schema.js'
import { type TranslateInput, TranslatePayload } from './localization.schema.js'
import type { LocalizationService } from './localization.service.js'

/**
 * The campaign statuses whose page may be translated: every announced one. Translating is reading
 * (a scheduled campaign's waiting room, an ended one's closing notice), takes no part in the
 * campaign, and writes only the shared cache. A draft is not announced: refused to all.
 */
export const TRANSLATABLE: readonly CampaignStatus[] = ['scheduled', 'active', 'ended', 'archived']

export function registerLocalizationActions(
  registry: ActionRegistry,
  localization: LocalizationService,
): void {
  registry.register<TranslateInput>({
    name: 'localization.translate',
    aliases: ['translate'],
    description: 'Translate strings with context (catalog → cache → LibreTranslate)',
    payload: TranslatePayload,
    role: 'guest',
    feature: 'translation',
    statuses: TRANSLATABLE,
    // Only the shared translation cache is written, by the service itself.
    writes: 'immediate',
    handler: async (ctx, payload) => {
      if (payload.campaign_id !== undefined && payload.campaign_id !== ctx.campaign.slug) {
        throw new BadRequestError('campaign_id does not match the campaign in the path', 'CAMPAIGN_MISMATCH')
      }
      return { result: await localization.translate(payload, ctx.campaign.slug) }
    },
  })
}
