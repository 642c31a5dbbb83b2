import type { ActionRegistry } from '../../nexus/registry.js'
import { ApplyPayload } from './referral.schema.js'
import type { ReferralService } from './referral.service.js'

export function registerReferralActions(registry: ActionRegistry, referrals: ReferralService): void {
  registry.register<ApplyPayload>({
    name: 'referral.apply',
    aliases: ['apply_referral'],
    description: 'Apply a referral code (once per person and campaign); counts toward live milestones',
    payload: ApplyPayload,
    role: 'participant',
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
