import type { Dispatcher } from '../../nexus/dispatcher.js'
import type { ActionRegistry } from '../../nexus/registry.js'
import { ApplyPayload } from './referral.schema.js'
import { GUEST, type ReferralService } from './referral.service.js'

export function registerReferralActions(registry: ActionRegistry, referrals: ReferralService): void {
  registry.register<ApplyPayload>({
    name: 'referral.apply',
    aliases: ['apply_referral'],
    description:
      'Apply a referral code (once per person and campaign); counts toward live milestones. ' +
      'A guest session is refused with REGISTRATION_REQUIRED: register first',
    payload: ApplyPayload,
    // Guests reach the service, which tells them to register (REGISTRATION_REQUIRED), not FORBIDDEN.
    role: 'guest',
    feature: 'referral',
    writes: 'immediate',
    handler: async (ctx, payload) => ({
      result: await referrals.apply(ctx.campaign, {
        userId: ctx.principal.user_id,
        sessionId: ctx.principal.session_id,
        ip: ctx.ip,
        code: payload.code,
      }),
    }),
  })
}

/**
 * Campaigns whose `custom_rules.referral_qualifies_on` names an action (say `quote.submit`, or
 * its alias `submit_quote`: either one, whichever name the client sends) qualify a person's
 * pending referral when that person's action succeeds, through Nexus (WebSocket or REST), while
 * the `referral` feature is on. Everything else returns at once: the rule is read from the
 * campaign already in hand, and guests have no referral.
 */
export function qualifyReferralsOnActions(
  dispatcher: Pick<Dispatcher, 'onCommitted'>,
  referrals: Pick<ReferralService, 'recordAction' | 'qualifiesOn'>,
  onError: (err: unknown) => void,
): void {
  dispatcher.onCommitted(({ campaign, user_id, action, event }) => {
    if (user_id === GUEST || !referrals.qualifiesOn(campaign, action, event)) return
    referrals.recordAction(campaign, user_id, event).catch(onError)
  })
}
