import type { Campaign } from '../campaign/campaign.schema.js'
import { hasFeature } from '../campaign/campaign.schema.js'
import type { CampaignBefore, CampaignService } from '../campaign/campaign.service.js'
import type { LiveStreams } from './live.service.js'

/**
 * Whether a change turned `streaming` off: on before, off now. A change whose previous state is
 * unknown (a message from a node that does not carry it) counts as one, the safe side: ending
 * streams already ended does nothing. One that created the campaign (`null`) never does.
 */
export function streamingWentOff(campaign: Campaign, previous: CampaignBefore | null | undefined): boolean {
  if (hasFeature(campaign, 'streaming') || previous === null) return false
  return previous === undefined || hasFeature(previous, 'streaming')
}

/**
 * A campaign whose `streaming` feature went off strands no stream: its open ones end, announced
 * as a stop is (every node hears the change; each stream ends, and is announced, once). Any other
 * change (a title, a tick rate, a campaign that never streamed) costs no query. Returns the
 * function that stops listening.
 */
export function endStreamsWhenStreamingOff(deps: {
  campaigns: Pick<CampaignService, 'onChange'>
  live: Pick<LiveStreams, 'endAll'>
  log: { warn(details: object, message: string): void }
}): () => void {
  const { live, log } = deps
  return deps.campaigns.onChange((c, previous) => {
    if (!streamingWentOff(c, previous)) return
    const announce = (step: () => Promise<void>) => {
      step().catch((err) => log.warn({ err, campaign: c.slug }, 'stream_event not published'))
    }
    live
      .endAll(c.slug, announce)
      .catch((err) =>
        log.warn({ err, campaign: c.slug }, 'streams of a campaign without streaming not ended'),
      )
  })
}
