import { createHash } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { clientNetwork } from '../../platform/http/client-network.js'
import { SecuredBy } from '../../platform/http/schemas.js'
import { type Static, Type } from 'typebox'
import type { RateDecision } from './ratelimit.js'
import { actorOf } from './account.service.js'
import { AccountJson } from './stream.schema.js'
import { requireV1, requireV1Admin, V1_ROUTE_CONFIG, type V1Options } from './v1.plugin.js'
import { MESSAGES, notFound, V1Error } from './v1.errors.js'
import { err } from './v1.streams.params.js'
import { tokenRoutes } from './v1.tokens.routes.js'

const tags = ['streamsource']
const security = SecuredBy

const Credentials = Type.Object({
  email: Type.String({ maxLength: 254 }),
  password: Type.String({ maxLength: 128 }),
  password_confirmation: Type.Optional(Type.String({ maxLength: 128 })),
})
const Status = Type.Object({ code: Type.Integer(), message: Type.String() })
/** An admin's change to an account: flat, or nested under `user` as Rails forms send it. */
const AccountChange = Type.Object(
  {
    role: Type.Optional(Type.Enum(['default', 'editor', 'admin'])),
    is_service_account: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
type AccountChange = Static<typeof AccountChange>
const Session = Type.Object({ status: Status, user: AccountJson, token: Type.String() })
const FlatSession = Type.Object({ user: AccountJson, token: Type.String() })
const IdParams = Type.Object({ id: Type.String({ maxLength: 20 }) })
/**
 * Login attempts counted in one window: per client network (wrong ones only: see `countLogin`),
 * per email from it, per email.
 */
const LOGINS_PER_NETWORK = 30
const LOGINS_PER_EMAIL_AND_NETWORK = 10
const LOGINS_PER_EMAIL = 100
const LOGIN_WINDOW_MS = 15 * 60_000
/** An email's login budget, whichever way it is typed: over every network, or from the one `ip` is in. */
const loginKey = (email: string, ip?: string) => {
  const who = createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32)
  return ip === undefined ? `login:email:${who}` : `login:email:${who}:net:${clientNetwork(ip)}`
}
/** A login attempt counted in its network's budget: what a success gives back. */
type Counted = { key: string; decision: RateDecision }
/** Sign-up attempts one client address may make in an hour. */
const SIGNUPS_PER_HOUR = 10
/** An account id from the path: digits only, else no such record (`abc`, `1.5` would reach the query as NaN). */
const accountId = (request: FastifyRequest) => {
  const raw = (request.params as { id: string }).id
  if (!/^\d{1,15}$/.test(raw)) throw notFound()
  return Number(raw)
}

export const accountRoutes: FastifyPluginAsync<V1Options> = async (
  app,
  { accounts, maintenance, config, limiter },
) => {
  const route = { config: V1_ROUTE_CONFIG }
  /**
   * Password guesses are counted before the check, whatever token came with them (the tiered limit
   * is per account when one does, so N accounts were N budgets): per client network (`clientNetwork`:
   * an IPv6 client's /64), per email from that network, and per email over every network. The
   * lockout is the per-network one: counted per email alone, ten wrong guesses from anywhere kept
   * the owner out from everywhere, so anyone knowing an operator's email could lock them out for
   * good (OWASP). The ceiling over all networks stops a guesser spread over many and takes ten
   * networks a window to reach, not one. An attempt one budget refuses is not counted in the next,
   * so a guesser held at their network's budget does not spend the email's ceiling. Every refusal
   * is the same 429 with its `Retry-After`, whichever budget refused.
   *
   * The network's budget is against guessing, so a login that succeeds gives its attempt back
   * (`loggedIn`): else an office of more than 30 operators behind one NAT, or an updater logging in
   * often, was refused with nobody guessing. It is still counted before the check, and refunded
   * only after it: counting only failures, once known, would let a guesser send any number of
   * guesses at once, each checked before any failed. So at most 30 guesses are ever in flight or
   * wrong in a window, and a refund needs the right password, which a guesser does not have.
   */
  const countLogin = async (request: FastifyRequest, email: string): Promise<Counted> => {
    const refuseOver = (d: RateDecision) => {
      if (!d.allowed) {
        throw new V1Error(429, 'RATE_LIMITED', MESSAGES.rateLimited, {
          headers: { 'retry-after': String(d.retryAfter) },
        })
      }
    }
    const network = `login:ip:${clientNetwork(request.ip)}`
    const decision = await limiter.hit(network, LOGINS_PER_NETWORK, LOGIN_WINDOW_MS)
    refuseOver(decision)
    for (const [key, limit] of [
      [loginKey(email, request.ip), LOGINS_PER_EMAIL_AND_NETWORK],
      [loginKey(email), LOGINS_PER_EMAIL],
    ] as const) {
      refuseOver(await limiter.hit(key, limit, LOGIN_WINDOW_MS))
    }
    return { key: network, decision }
  }
  /**
   * The owner in: that network's guesses at the email are forgotten (an updater logging in often
   * never locks itself out), and the network's budget gets this attempt back.
   */
  const loggedIn = (request: FastifyRequest, email: string, counted: Counted) =>
    Promise.all([
      limiter.reset(loginKey(email, request.ip), LOGIN_WINDOW_MS),
      limiter.refund(counted.key, counted.decision),
    ]).catch(() => {})
  /**
   * Sign-ups are counted per client network too (StreamSource allows a few an hour): each one tells
   * whether an email has an account ("has already been taken") and costs two password hashes, so
   * the request tier alone (60 a minute) let one address probe thousands of emails an hour.
   */
  const signupAllowed = async (request: FastifyRequest) => {
    if (!config.STREAMSOURCE_SIGNUP_ENABLED) throw new V1Error(403, 'SIGNUP_DISABLED', 'Sign up is disabled')
    const d = await limiter.hit(`signup:ip:${clientNetwork(request.ip)}`, SIGNUPS_PER_HOUR, 60 * 60_000)
    if (!d.allowed) {
      throw new V1Error(429, 'RATE_LIMITED', MESSAGES.rateLimited, {
        headers: { 'retry-after': String(d.retryAfter) },
      })
    }
  }

  app.post(
    '/login',
    {
      ...route,
      schema: {
        operationId: 'streamSourceLogin',
        tags,
        body: Type.Object({ user: Credentials }),
        response: { 200: Session, ...err(401, 422, 429) },
      },
    },
    async (request, reply) => {
      const { user } = request.body as { user: { email: string; password: string } }
      const counted = await countLogin(request, user.email)
      const session = await accounts.login(user.email, user.password)
      await loggedIn(request, user.email, counted)
      reply.header('authorization', `Bearer ${session.token}`)
      return { status: { code: 200, message: 'Logged in successfully.' }, ...session }
    },
  )

  app.post(
    '/signup',
    {
      ...route,
      schema: {
        operationId: 'streamSourceSignup',
        tags,
        body: Type.Object({ user: Credentials }),
        response: { 201: Session, ...err(403, 422, 429) },
      },
    },
    async (request, reply) => {
      await signupAllowed(request)
      const { user } = request.body as {
        user: { email: string; password: string; password_confirmation?: string }
      }
      await accounts.signup(user)
      const session = await accounts.login(user.email, user.password)
      reply.header('authorization', `Bearer ${session.token}`)
      return reply.status(201).send({ status: { code: 201, message: 'Signed up successfully.' }, ...session })
    },
  )

  // The older flat forms, still used by deployed updaters.
  app.post(
    '/users/login',
    {
      ...route,
      schema: {
        operationId: 'streamSourceLoginFlat',
        tags,
        body: Credentials,
        response: { 200: FlatSession, ...err(401, 422, 429) },
      },
    },
    async (request) => {
      const { email, password } = request.body as { email: string; password: string }
      const counted = await countLogin(request, email)
      const session = await accounts.login(email, password)
      await loggedIn(request, email, counted)
      return session
    },
  )

  app.post(
    '/users/signup',
    {
      ...route,
      schema: {
        operationId: 'streamSourceSignupFlat',
        tags,
        body: Credentials,
        response: { 201: FlatSession, ...err(403, 422, 429) },
      },
    },
    async (request, reply) => {
      await signupAllowed(request)
      const body = request.body as { email: string; password: string; password_confirmation?: string }
      await accounts.signup(body)
      return reply.status(201).send(await accounts.login(body.email, body.password))
    },
  )

  app.delete(
    '/logout',
    {
      ...route,
      onRequest: requireV1,
      schema: {
        operationId: 'streamSourceLogout',
        tags,
        security,
        response: { 200: Type.Object({ status: Status }), ...err(401, 429) },
      },
    },
    async (request) => {
      await accounts.logout(request.v1!)
      return { status: { code: 200, message: 'Logged out successfully.' } }
    },
  )

  app.get(
    '/users',
    {
      ...route,
      onRequest: requireV1Admin,
      schema: {
        operationId: 'streamSourceListUsers',
        tags,
        security,
        querystring: Type.Object({
          // Bounded so the offset stays within PostgreSQL's bigint (1e300 was a 500).
          page: Type.Optional(Type.Integer({ minimum: 1, maximum: 999_999_999, default: 1 })),
          per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
        }),
        response: {
          200: Type.Object({
            users: Type.Array(AccountJson),
            meta: Type.Object({
              current_page: Type.Integer(),
              total_pages: Type.Integer(),
              total_count: Type.Integer(),
              per_page: Type.Integer(),
            }),
          }),
          ...err(401, 403, 422, 429),
        },
      },
    },
    async (request) => {
      const { page = 1, per_page = 25 } = request.query as { page?: number; per_page?: number }
      const { users, total } = await accounts.list(page, per_page)
      return {
        users,
        meta: { current_page: page, total_pages: Math.ceil(total / per_page), total_count: total, per_page },
      }
    },
  )

  app.get(
    '/users/:id',
    {
      ...route,
      onRequest: requireV1Admin,
      schema: {
        operationId: 'streamSourceGetUser',
        tags,
        security,
        params: IdParams,
        response: { 200: Type.Object({ user: AccountJson }), ...err(401, 403, 404, 429) },
      },
    },
    async (request) => ({ user: await accounts.get(accountId(request)) }),
  )

  app.patch(
    '/users/:id',
    {
      ...route,
      onRequest: requireV1Admin,
      schema: {
        operationId: 'streamSourceUpdateUser',
        tags,
        security,
        params: IdParams,
        body: Type.Object(
          {
            ...AccountChange.properties,
            user: Type.Optional(AccountChange),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ user: AccountJson }), ...err(401, 403, 404, 422, 429) },
      },
    },
    async (request) => {
      const body = request.body as AccountChange & { user?: AccountChange }
      return { user: await accounts.update(accountId(request), body.user ?? body) }
    },
  )

  const MaintenanceState = Type.Object({ maintenance: Type.Boolean(), forced_by_config: Type.Boolean() })
  app.get(
    '/admin/maintenance',
    {
      ...route,
      onRequest: requireV1Admin,
      schema: {
        operationId: 'streamSourceMaintenanceState',
        tags,
        security,
        response: { 200: MaintenanceState, ...err(401, 403, 429) },
      },
    },
    async () => ({ maintenance: maintenance.enabled(), forced_by_config: maintenance.forced }),
  )
  app.put(
    '/admin/maintenance',
    {
      ...route,
      onRequest: requireV1Admin,
      schema: {
        operationId: 'streamSourceSetMaintenance',
        tags,
        security,
        description:
          'Turn the maintenance switch on or off on every node (MAINTENANCE_MODE=true keeps it on).',
        body: Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: MaintenanceState, ...err(401, 403, 422, 429) },
      },
    },
    async (request) => {
      const { enabled } = request.body as { enabled: boolean }
      await maintenance.set(enabled, actorOf(request.v1!))
      return { maintenance: maintenance.enabled(), forced_by_config: maintenance.forced }
    },
  )

  await app.register(tokenRoutes, { accounts, limiter })
}
