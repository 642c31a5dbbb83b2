import { markSubject } from '../../nexus/idempotency.js'
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
    // The password never reaches the analytics log, nor does anything about the person: a join
    // may be sent with someone else's credential (an operator's API key, a friend's logged-in
    // browser), and erasing the person cannot find events recorded under that other actor.
    sensitive: ['password', 'email', 'name', 'metadata'],
    writes: 'immediate',
    handler: async (ctx, payload) => {
      const result = await users.register(ctx.campaign, payload, {
        principal: ctx.principal,
        ip: ctx.ip,
        userAgent: ctx.userAgent,
      })
      // The stored answer (kept 24 h for retries) holds this person's email, name, code and token,
      // under the sender's key: it names them, so erasing them finds it whoever sent the join.
      // A join without a client's request id keeps no answer: nothing to name.
      if (ctx.recorded) ctx.defer((trx) => markSubject(trx, ctx, result.user.id))
      return { result }
    },
  })
}
