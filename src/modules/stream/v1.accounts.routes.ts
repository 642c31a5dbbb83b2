import { createHash } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { clientNetwork } from '../../platform/http/client-network.js'
import { SecuredBy } from '../../platform/http/schemas.js'
import { type Static, Type } from 'typebox'
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
   * Password guesses are counted per client network (`clientNetwork`: an IPv6 client's /64) and per
   * email, whatever token came with them (the tiered limit is per account when one does, so N
   * accounts were N budgets), before the check.
   */
  const countLogin = async (request: FastifyRequest, email: string) => {
    const who = createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32)
    for (const [key, limit] of [
      [`login:ip:${clientNetwork(request.ip)}`, 30],
      [`login:email:${who}`, 10],
    ] as const) {
      const d = await limiter.hit(key, limit, 15 * 60_000)
      if (!d.allowed) {
        throw new V1Error(429, 'RATE_LIMITED', MESSAGES.rateLimited, {
          headers: { 'retry-after': String(d.retryAfter) },
        })
      }
    }
  }
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
      await countLogin(request, user.email)
      const session = await accounts.login(user.email, user.password)
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
      await countLogin(request, email)
      return accounts.login(email, password)
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
      await maintenance.set(enabled, request.v1!.email ?? 'apikey')
      return { maintenance: maintenance.enabled(), forced_by_config: maintenance.forced }
    },
  )

  await app.register(tokenRoutes, { accounts, limiter })
}
