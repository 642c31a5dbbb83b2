import type { ActionRegistry } from '../../nexus/registry.js'
import { RegisterPayload } from './user.schema.js'
import type { UserService } from './user.service.js'

export function registerUserActions(registry: ActionRegistry, users: UserService): void {
  registry.register<RegisterPayload>({
    name: 'user.register',
    aliases: ['register'],
    description: 'Join the campaign: a user, a referral code here, and a token that upgrades the session',
    payload: RegisterPayload,
    role: 'guest',
    feature: 'registration',
    // The password never reaches the analytics log.
    sensitive: ['password'],
    writes: 'immediate',
    handler: async (ctx, payload) => ({
      result: await users.register(ctx.campaign, payload, { principal: ctx.principal, ip: ctx.ip }),
    }),
  })
}
