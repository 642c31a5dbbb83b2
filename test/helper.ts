import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before } from 'node:test'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'
import { loadConfig, type Config } from '../src/config.js'
import { createDatabase, type DatabaseHandle } from '../src/platform/db/database.js'
import { usePasswordCost } from '../src/platform/auth/password-hash.js'
import { migratedPgliteImage } from './pglite-image.js'

/** The database dialects this run covers: PGlite always, PostgreSQL when DATABASE_URL is set. */
export type Dialect = 'pglite' | 'postgres'
export const DIALECTS: Dialect[] = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite']
export const REDIS_URL = process.env.REDIS_URL
export const ADMIN_KEY = `ovs_test_admin_${randomBytes(12).toString('hex')}`
/** Nodes of one deployment share a secret; so do the test apps of one test process. */
export const JWT_SECRET = randomBytes(32).toString('hex')
/**
 * Test apps hash passwords at scrypt's least cost: suites sign up and log in by the hundred, at
 * 160 ms of CPU a hash under the real parameters. The suites about the parameters themselves ask
 * for `standard` again; servers started as processes (the CLI, cluster nodes) always use them.
 */
usePasswordCost('minimum')

/**
 * A fresh PostgreSQL database for one test app, so test files running in parallel never share
 * rows. Returns its URL and a function that drops it.
 */
export async function freshPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.DATABASE_URL!
  const name = `ovasabi_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: base })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(base)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base })
      await c.connect()
      await c.query(`drop database if exists ${name} with (force)`)
      await c.end()
    },
  }
}

/**
 * Runs `test` on a database of its own with no migration run (in-memory PGlite, or a fresh
 * PostgreSQL database for `postgres`), then closes it and drops it.
 */
export async function withDatabase(dialect: Dialect, test: (database: DatabaseHandle) => Promise<void>) {
  const fresh = dialect === 'postgres' ? await freshPostgres() : undefined
  const database = await createDatabase(
    { DATA_DIR: '/nonexistent', DATABASE_URL: fresh?.url, DATABASE_POOL_SIZE: 2 },
    { memory: true },
  )
  try {
    await test(database)
  } finally {
    await database.close()
    await fresh?.drop()
  }
}

export interface TestAppOptions {
  dialect?: Dialect
  redis?: boolean
  env?: Record<string, string>
  /** Share this PostgreSQL URL (e.g. two nodes on one database) instead of a fresh database. */
  databaseUrl?: string
}

export interface TestContext {
  app: FastifyInstance
  config: Config
  databaseUrl?: string
  close(): Promise<void>
}

/** Build the real app (real database, real bus) for one suite; `close()` tears everything down. */
export async function buildTestApp(options: TestAppOptions = {}): Promise<TestContext> {
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-test-'))
  let drop: (() => Promise<void>) | undefined
  let databaseUrl = options.databaseUrl
  if (options.dialect === 'postgres' && !databaseUrl) {
    const fresh = await freshPostgres()
    databaseUrl = fresh.url
    drop = fresh.drop
  }
  const config = loadConfig({
    DATA_DIR: dir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    OVASABI_ADMIN_KEY: ADMIN_KEY,
    JWT_SECRET,
    RATE_LIMIT_PER_MINUTE: '100000',
    // Suites open sockets by the hundred from 127.0.0.1 (counted in one Redis key across processes).
    WS_UPGRADES_PER_MINUTE_PER_IP: '0',
    // Tests name their clients' addresses in X-Forwarded-For.
    TRUST_PROXY: 'true',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...(options.redis && REDIS_URL ? { REDIS_URL } : {}),
    ...options.env,
  })
  const app = await buildApp(config, {
    memoryDatabase: !databaseUrl,
    ...(databaseUrl ? {} : { databaseImage: await migratedPgliteImage() }),
    logger: config.LOG_LEVEL !== 'silent',
  })
  await app.ready()
  return {
    app,
    config,
    databaseUrl,
    async close() {
      await app.close()
      await drop?.()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Call inside a `describe`: a test app built with `options` before its tests and closed after
 * them (`ctx`, and its `app`).
 */
export function suiteApp(options: TestAppOptions = {}): {
  readonly ctx: TestContext
  readonly app: FastifyInstance
} {
  let ctx: TestContext | undefined
  before(async () => {
    ctx = await buildTestApp(options)
  })
  after(() => ctx?.close())
  const started = () => {
    if (!ctx) throw new Error('the suite has not started')
    return ctx
  }
  return {
    get ctx() {
      return started()
    },
    get app() {
      return started().app
    },
  }
}

/**
 * Runs `test` on two nodes of one deployment on one fresh PostgreSQL database, then closes them.
 * They share the JWT secret (a token from one is valid on the other), as every test app of a
 * test process does.
 */
export async function onTwoPostgresNodes(
  test: (first: TestContext, second: TestContext) => Promise<void>,
): Promise<void> {
  const first = await buildTestApp({ dialect: 'postgres' })
  try {
    const second = await buildTestApp({ dialect: 'postgres', databaseUrl: first.databaseUrl })
    try {
      await test(first, second)
    } finally {
      await second.close()
    }
  } finally {
    await first.close()
  }
}

/** Has `app` listen on a free port of 127.0.0.1, for clients over a real socket; its `http://…` origin. */
export async function listenLocally(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

export const adminHeaders = { 'x-api-key': ADMIN_KEY }

export function json<T = any>(res: LightMyRequestResponse): T {
  return JSON.parse(res.body) as T
}

/** A guest session token. */
export async function guestToken(app: FastifyInstance): Promise<{ token: string; session_id: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/session' })
  if (res.statusCode !== 201) throw new Error(`session: ${res.statusCode} ${res.body}`)
  return json(res)
}

/**
 * A visitor joins campaign `slug` from the guest session `token` belongs to, then erases their
 * account: that guest session is revoked.
 */
export async function joinAndErase(app: FastifyInstance, slug: string, token: string): Promise<void> {
  const joined = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: { authorization: `Bearer ${token}` },
    payload: {
      campaign: slug,
      email: `gone_${randomBytes(4).toString('hex')}@example.com`,
      name: 'Gone',
    },
  })
  assert.equal(joined.statusCode, 201, joined.body)
  const erased = await app.inject({
    method: 'DELETE',
    url: `/api/user/${json(joined).user.id}`,
    headers: { authorization: `Bearer ${json(joined).token}` },
  })
  assert.equal(erased.statusCode, 200, erased.body)
}

/** `POST /api/:slug/update`: the session of `token` sends `action` with `data`. */
export function sendAction(app: FastifyInstance, slug: string, token: string, action: string, data: unknown) {
  return app.inject({
    method: 'POST',
    url: `/api/${slug}/update`,
    headers: { authorization: `Bearer ${token}` },
    payload: { action, data },
  })
}

/** A passwordless join of `email` to `slug`: with the token `as`, else from a new guest session. */
export async function joinAs(app: FastifyInstance, slug: string, email: string, as?: string) {
  const token = as ?? (await guestToken(app)).token
  return app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: { authorization: `Bearer ${token}` },
    payload: { campaign: slug, name: 'Ada', email },
  })
}

/** Someone new (`name` and a fresh address) who joined `slug` without a password, from a guest session. */
export async function newMember(app: FastifyInstance, slug: string, name = 'ada') {
  const email = `${name}.${randomBytes(5).toString('hex')}@example.org`
  const res = await joinAs(app, slug, email)
  assert.equal(res.statusCode, 201, res.body)
  return { email, id: json(res).user.id as string, token: json(res).token as string }
}

/** A lead sent to campaign `slug` by a new guest session: a name, a new address, `fields`; its id. */
export async function guestLead(
  app: FastifyInstance,
  slug: string,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const { token } = await guestToken(app)
  const res = await app.inject({
    method: 'POST',
    url: '/api/quote',
    headers: { authorization: `Bearer ${token}` },
    payload: {
      campaign: slug,
      name: 'Ada',
      email: `ada.${randomBytes(5).toString('hex')}@example.org`,
      ...fields,
    },
  })
  assert.equal(res.statusCode, 200, res.body)
  return json(res).result.lead_id as string
}

/** A token of user `userId` (a participant unless `roles` say otherwise), issued without a login. */
export async function userToken(
  app: FastifyInstance,
  userId: string,
  roles: Array<'participant' | 'admin'> = ['participant'],
): Promise<string> {
  return (await app.platform.tokens.issueUser({ userId, roles })).token
}

/** Someone who joined a campaign with a password: their session's token, and how they log in. */
export interface Member {
  token: string
  email: string
  password: string
}

/** Grace joins campaign `slug` with a password, from a new guest session. */
export async function joinWithPassword(app: FastifyInstance, slug: string): Promise<Member> {
  const { token: guest } = await guestToken(app)
  const email = `grace.${Date.now()}@example.org`
  const password = 'correct horse battery staple'
  const joined = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: { authorization: `Bearer ${guest}` },
    payload: { campaign: slug, name: 'Grace', email, password },
  })
  assert.equal(joined.statusCode, 201, joined.body)
  return { token: json(joined).token, email, password }
}

/**
 * `member` on another device: a new guest session (`guest`, someone else until it logs in),
 * logged in to campaign `slug` (`token`: a new session, the same user).
 */
export async function logInElsewhere(
  app: FastifyInstance,
  slug: string,
  member: Member,
): Promise<{ guest: string; token: string }> {
  const { token: guest } = await guestToken(app)
  const login = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { authorization: `Bearer ${guest}` },
    payload: { email: member.email, password: member.password, campaign: slug },
  })
  assert.equal(login.statusCode, 200, login.body)
  return { guest, token: json(login).token }
}

/**
 * A name no other run or test uses, starting with `prefix`: a campaign slug, or a Redis key prefix
 * (ids start again in each fresh database, so each app keeps its keys apart).
 */
export function uniqueSlug(prefix = 'c'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
}

/** Create a campaign with the given features (all on by default) through the admin API. */
export async function createCampaign(
  app: FastifyInstance,
  overrides: { slug?: string; features?: string[]; metadata?: Record<string, unknown>; draft?: boolean } = {},
): Promise<string> {
  const slug = overrides.slug ?? uniqueSlug()
  const res = await app.inject({
    method: 'POST',
    url: '/api/campaign',
    headers: adminHeaders,
    payload: {
      slug,
      title: `Test ${slug}`,
      draft: overrides.draft,
      metadata: {
        features: overrides.features ?? [...FEATURES],
        ...overrides.metadata,
      },
    },
  })
  if (res.statusCode !== 201) throw new Error(`create campaign: ${res.statusCode} ${res.body}`)
  return slug
}

/**
 * Stores a campaign row as one written before titles, time zones and schedule keys were checked
 * (straight into the table, past the API): `title` and `scheduling` as given, with presence and
 * analytics on. Returns its slug.
 */
export async function insertLegacyCampaign(
  app: FastifyInstance,
  title: string,
  scheduling: Record<string, unknown>,
): Promise<string> {
  const slug = uniqueSlug('legacy')
  await app.platform.database.db
    .insertInto('service_campaign_main')
    .values({
      slug,
      title,
      description: '',
      draft: false,
      created_by: 'legacy',
      metadata: JSON.stringify({ features: ['presence', 'analytics'], scheduling }),
      updated_at: new Date(),
    })
    .execute()
  return slug
}

/**
 * Every frame the app's modules publish (to any audience), as the bus carries it (a JSON copy).
 * Modules all share `app.publisher`; wrapping its `publish` sees campaign-scoped and user-scoped
 * frames alike. Returns the function that stops capturing.
 */
export async function captureFrames(
  app: FastifyInstance,
  handler: (message: RealtimeMessage) => void,
): Promise<() => Promise<void>> {
  const publisher = app.publisher
  const original = publisher.publish
  publisher.publish = async (audience, frame) => {
    handler(JSON.parse(JSON.stringify({ audience, frame })) as RealtimeMessage)
    return original.call(publisher, audience, frame)
  }
  return async () => {
    publisher.publish = original
  }
}
