import { ConflictError, ForbiddenError } from '../../platform/http/errors.js'
import { type Campaign, type CampaignStatus, campaignStatus, hasFeature } from './campaign.schema.js'

/**
 * The campaign checks the Nexus dispatcher makes before an action, for dedicated REST routes that
 * run the same service function outside the dispatcher: same codes, same statuses.
 */
export function assertActionAllowed(
  campaign: Campaign,
  feature: string,
  /** The action's `statuses` (the dispatcher's default: `active` only). */
  statuses: readonly CampaignStatus[] = ['active'],
): void {
  const status = campaignStatus(campaign)
  if (!statuses.includes(status)) {
    throw new ConflictError(`Campaign ${campaign.slug} is ${status}`, 'CAMPAIGN_NOT_ACTIVE', { status })
  }
  if (!hasFeature(campaign, feature)) {
    throw new ForbiddenError(`The ${feature} feature is not enabled for ${campaign.slug}`, 'FEATURE_DISABLED')
  }
}
