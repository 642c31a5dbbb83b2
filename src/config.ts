import { randomBytes } from 'node:crypto'
import {
  constants,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { looksLikeApiKey } from './platform/auth/apikeys.js'
import { compileTrustProxy } from './platform/http/client-ip.js'

/** `REDIS_PREFIX`: a short token, so no prefix can end where another's names begin (no `:`). */
const REDIS_PREFIX_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/

/** Shortest JWT secret accepted, from `JWT_SECRET` or from `DATA_DIR/jwt-secret`. */
const MIN_SECRET_LENGTH = 32

/** Environment variables Ovasabi reads. Every one is documented in `.env.example`. */
const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8090 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  /**
   * On SIGTERM, seconds the server keeps serving with readiness at 503 before it stops accepting,
   * so a load balancer notices and stops sending. 0: stop accepting at once (SIGINT never waits).
   */
  SHUTDOWN_DRAIN_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 0 }),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  COMMIT_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  /**
   * How long a request repeated (same `request_id`) while its first run goes on in another process
   * waits for that run's answer before it is refused with 409 `REQUEST_IN_PROGRESS` and
   * `Retry-After`. Keep it below the proxy's request timeout; 0: refuse at once.
   */
  IDEMPOTENCY_WAIT_SECONDS: Type.Integer({ minimum: 0, maximum: 60, default: 10 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /**
   * Put before every Redis key and bus channel as `REDIS_PREFIX:`, so deployments sharing one Redis
   * server (staging and production) stay apart: a database number (`redis://…/1`) separates keys
   * but not pub/sub channels. Unset: the names older nodes use, for a rolling upgrade.
   */
  REDIS_PREFIX: Type.Optional(Type.String()),
  JWT_SECRET: Type.Optional(Type.String({ minLength: MIN_SECRET_LENGTH })),
  // At most ten years: a token must expire before the year 10000 (its `expires_at` is shown), and
  // a session that outlives its people's devices is no session.
  SESSION_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 10 * 365 * 86400, default: 86400 }),
  /**
   * How long after a person's join or login (their token's `auth_time`) their tokens are still
   * refreshed: a refresh never moves it forward, so a session kept alive by refreshes ends then
   * (401 `SESSION_EXPIRED`: log in again), and no refreshed token expires later. Default 30 days.
   */
  SESSION_MAX_AGE_SECONDS: Type.Integer({ minimum: 60, maximum: 10 * 365 * 86400, default: 30 * 86400 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  CORS_ORIGINS: Type.String({ default: '' }),
  BODY_LIMIT: Type.Integer({ minimum: 1024, maximum: 100 * 1024 * 1024, default: 1024 * 1024 }),
  /** Seconds a request may take to send its headers; then 408 and the connection is closed. */
  HTTP_HEADERS_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 30 }),
  /**
   * Seconds a request body (an upload included) may go without a byte, and a client may leave its
   * response unread; then 408 (a body) and the connection is closed. A body has no total deadline.
   */
  HTTP_BODY_IDLE_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
  /**
   * Bytes per second a request body (an upload included) must average while it is read, over
   * the last HTTP_BODY_IDLE_TIMEOUT_SECONDS (or since it began, while shorter), once it has been
   * read for HTTP_BODY_MIN_RATE_GRACE_SECONDS; then 408 `BODY_TOO_SLOW` and the connection is
   * closed. Stops a trickle that never trips the idle timeout. 0: no floor.
   */
  HTTP_BODY_MIN_BYTES_PER_SECOND: Type.Integer({ minimum: 0, maximum: 1024 * 1024 * 1024, default: 240 }),
  /** Seconds of reading a request body gets before its rate is judged (a connection's slow start). */
  HTTP_BODY_MIN_RATE_GRACE_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 5 }),
  // Which peers may name the client in X-Forwarded-For: false, true, or proxy addresses/CIDRs.
  TRUST_PROXY: Type.String({ default: 'false' }),
  JSON_MAX_DEPTH: Type.Integer({ minimum: 2, maximum: 1000, default: 32 }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 6000 }),
  OVASABI_ADMIN_KEY: Type.Optional(Type.String({ minLength: 24 })),
  /** When set, `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>` (Prometheus' `authorization`). */
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  DEFAULT_CAMPAIGN: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', default: 'ovasabi_website' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  /**
   * The SMTP server mail goes through (`smtp://user:pass@host:587`, `smtps://…:465`); unset, the
   * server sends no mail and `POST /api/auth/password/forgot` answers 503 `MAIL_UNAVAILABLE`.
   */
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  /** The sender of that mail (`Ovasabi <no-reply@example.com>`); default `no-reply@` PUBLIC_URL's host. */
  MAIL_FROM: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
  /**
   * The page a password-reset mail links to, the token after `#token=`: default
   * `PUBLIC_URL/admin/reset-password` (the console's page). Never built from a request's Host.
   */
  PASSWORD_RESET_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  /**
   * The page an email-verification mail links to, the token after `#token=`: default
   * `PUBLIC_URL/admin/verify-email` (the console's page). Never built from a request's Host.
   */
  EMAIL_VERIFY_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  ENVIRONMENT: Type.String({ default: 'development' }),
  LIBRETRANSLATE_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  LIBRETRANSLATE_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  LIBRETRANSLATE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000 }),
  LIBRETRANSLATE_RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
  LIBRETRANSLATE_BATCH_WINDOW_MS: Type.Integer({ minimum: 0, maximum: 1000, default: 10 }),
  LIBRETRANSLATE_BATCH_LIMIT: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
  LIBRETRANSLATE_MAX_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
  LIBRETRANSLATE_BREAKER_THRESHOLD: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  LIBRETRANSLATE_BREAKER_COOLDOWN_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
  /** Days a cached machine translation is kept after it last answered a request. */
  TRANSLATION_CACHE_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 90 }),
  MEDIA_DIR: Type.Optional(Type.String({ minLength: 1 })),
  MEDIA_MAX_BYTES: Type.Integer({ minimum: 1, maximum: 10 * 1024 * 1024 * 1024, default: 100 * 1024 * 1024 }),
  MEDIA_UPLOAD_TTL_SECONDS: Type.Integer({ minimum: 10, maximum: 7 * 86400, default: 900 }),
  /** Bytes one campaign may hold: media stored plus what its open upload URLs may still bring. */
  MEDIA_CAMPAIGN_QUOTA_BYTES: Type.Integer({
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    default: 10 * 1024 * 1024 * 1024,
  }),
  /** The same, per uploader (a user, or a guest session), over every campaign. */
  MEDIA_USER_QUOTA_BYTES: Type.Integer({
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    default: 1024 * 1024 * 1024,
  }),
  /**
   * Bytes guests (guest sessions, not people) may upload to one campaign from one client network
   * (an IPv4 address, an IPv6 /64) within 24 hours: a guest session costs nothing to start, so
   * without it one client could take a fresh `MEDIA_USER_QUOTA_BYTES` with each and fill the
   * campaign's quota alone.
   */
  MEDIA_GUEST_NETWORK_QUOTA_BYTES: Type.Integer({
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    default: 2 * 1024 * 1024 * 1024,
  }),
  S3_BUCKET: Type.Optional(Type.String({ minLength: 1 })),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  S3_FORCE_PATH_STYLE: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'false' }),
  WEBHOOK_ALLOW_PRIVATE: Type.Boolean({ default: false }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 10_000 }),
  WEBHOOK_POLL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
  WEBHOOK_RETRY_BASE_MS: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 10_000 }),
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
  WEBHOOK_CIRCUIT_THRESHOLD: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  WEBHOOK_CIRCUIT_COOLDOWN_MS: Type.Integer({ minimum: 10, maximum: 86_400_000, default: 60_000 }),
  WEBHOOK_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
  /**
   * Endpoints one campaign may register: each lead is written and sent once per endpoint, so the
   * count multiplies every lead's cost. Past it, `POST …/webhooks` is 409 `WEBHOOK_LIMIT_REACHED`.
   */
  WEBHOOK_MAX_PER_CAMPAIGN: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
  // Stream registry (StreamSource /api/v1, /cable) and campaign live streams.
  MAINTENANCE_MODE: Type.Boolean({ default: false }),
  STREAMSOURCE_RATE_LIMIT_ANONYMOUS: Type.Integer({ minimum: 1, default: 60 }),
  STREAMSOURCE_RATE_LIMIT_AUTHENTICATED: Type.Integer({ minimum: 1, default: 600 }),
  STREAMSOURCE_RATE_LIMIT_SERVICE: Type.Integer({ minimum: 1, default: 6000 }),
  STREAMSOURCE_SIGNUP_ENABLED: Type.Boolean({ default: true }),
  CABLE_LOCK_TTL_MS: Type.Integer({ minimum: 1000, default: 30_000 }),
  /** Frames a second each `/cable` socket may send (a bucket of twice that); more are dropped, a flood closes it. */
  CABLE_COMMANDS_PER_SECOND: Type.Integer({ minimum: 1, maximum: 10000, default: 20 }),
  /** How long (ms) a `/cable` credential check that passed serves the socket's next commands; 0: each command checks. */
  CABLE_CREDENTIAL_REUSE_MS: Type.Integer({ minimum: 0, maximum: 30_000, default: 1000 }),
  STREAM_INGEST_URL_TEMPLATE: Type.String({ minLength: 1, default: 'rtmp://localhost:1935/live/{key}' }),
  STREAM_PLAYBACK_URL_TEMPLATE: Type.String({
    minLength: 1,
    default: '{public_url}/live/{stream_id}/index.m3u8',
  }),
  STREAM_CHAT_MAX_LENGTH: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
  STREAM_CHAT_PER_MINUTE: Type.Integer({ minimum: 1, default: 30 }),
  STREAM_CHAT_PER_MINUTE_PER_IP: Type.Integer({ minimum: 1, default: 120 }),
  STREAM_OPEN_PER_USER: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
  /**
   * The secret a media server (nginx-rtmp, MediaMTX) sends to the ingest authorisation endpoints
   * (`?secret=` or `X-Ingest-Secret`); unset, those endpoints answer 503 `INGEST_AUTH_DISABLED`.
   */
  STREAM_INGEST_AUTH_SECRET: Type.Optional(Type.String({ minLength: 24 })),
  /** Ingest authorisations refused (bad secret, unknown or ended key) per client network a minute. */
  STREAM_INGEST_AUTH_FAILURES_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 10000, default: 20 }),
  WS_MAX_PAYLOAD: Type.Integer({ minimum: 256, maximum: 16 * 1024 * 1024, default: 16384 }),
  WS_MESSAGES_PER_SECOND: Type.Integer({ minimum: 1, maximum: 10000, default: 60 }),
  WS_SLOW_CLIENT_GRACE_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 10000 }),
  WS_HEARTBEAT_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 10000 }),
  WS_PRESENCE_LEAVE_MS: Type.Integer({ minimum: 0, maximum: 600000, default: 3000 }),
  WS_IDLE_MS: Type.Integer({ minimum: 1000, maximum: 86400000, default: 60000 }),
  WS_EVENT_HISTORY_SIZE: Type.Integer({ minimum: 0, maximum: 1000000, default: 1000 }),
  WS_EVENT_HISTORY_SECONDS: Type.Integer({ minimum: 1, maximum: 86400, default: 300 }),
  /** Sockets one session token may hold open on one node (a browser's tabs share one); 0: no limit. */
  WS_MAX_SOCKETS_PER_SESSION: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10 }),
  /** Sockets one client address (as `TRUST_PROXY` reads it) may hold open on one node; 0: no limit. */
  WS_MAX_SOCKETS_PER_IP: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 100 }),
  /**
   * WebSocket upgrades (`/ws` and `/cable`) one client network may make per minute, shared by the
   * nodes on one Redis: room for `WS_MAX_SOCKETS_PER_IP` sockets to come back after a restart and
   * retry; 0: no limit.
   */
  WS_UPGRADES_PER_MINUTE_PER_IP: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 300 }),
})

type Env = Static<typeof EnvSchema>

/** The parsed, frozen configuration passed down to every part of the server. */
export interface Config extends Omit<Env, 'JWT_SECRET' | 'CORS_ORIGINS' | 'MEDIA_DIR'> {
  readonly JWT_SECRET: string
  /** Where uploads live on disk: `MEDIA_DIR`, default `DATA_DIR/media`. */
  readonly MEDIA_DIR: string
  readonly CORS_ORIGINS: readonly string[]
  readonly VERSION: string
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

const INTEGER_KEYS = new Set([
  'PORT',
  'SHUTDOWN_DRAIN_SECONDS',
  'DATABASE_POOL_SIZE',
  'COMMIT_CONCURRENCY',
  'IDEMPOTENCY_WAIT_SECONDS',
  'SESSION_TTL_SECONDS',
  'SESSION_MAX_AGE_SECONDS',
  'BODY_LIMIT',
  'HTTP_HEADERS_TIMEOUT_SECONDS',
  'HTTP_BODY_IDLE_TIMEOUT_SECONDS',
  'HTTP_BODY_MIN_BYTES_PER_SECOND',
  'HTTP_BODY_MIN_RATE_GRACE_SECONDS',
  'JSON_MAX_DEPTH',
  'RATE_LIMIT_PER_MINUTE',
  'LIBRETRANSLATE_TIMEOUT_MS',
  'LIBRETRANSLATE_RETRIES',
  'LIBRETRANSLATE_BATCH_WINDOW_MS',
  'LIBRETRANSLATE_BATCH_LIMIT',
  'LIBRETRANSLATE_MAX_CONCURRENCY',
  'LIBRETRANSLATE_BREAKER_THRESHOLD',
  'LIBRETRANSLATE_BREAKER_COOLDOWN_MS',
  'TRANSLATION_CACHE_RETENTION_DAYS',
  'MEDIA_MAX_BYTES',
  'MEDIA_UPLOAD_TTL_SECONDS',
  'MEDIA_CAMPAIGN_QUOTA_BYTES',
  'MEDIA_USER_QUOTA_BYTES',
  'MEDIA_GUEST_NETWORK_QUOTA_BYTES',
  'WEBHOOK_TIMEOUT_MS',
  'WEBHOOK_POLL_MS',
  'WEBHOOK_RETRY_BASE_MS',
  'WEBHOOK_MAX_ATTEMPTS',
  'WEBHOOK_CIRCUIT_THRESHOLD',
  'WEBHOOK_CIRCUIT_COOLDOWN_MS',
  'WEBHOOK_RETENTION_DAYS',
  'WEBHOOK_MAX_PER_CAMPAIGN',
  'STREAMSOURCE_RATE_LIMIT_ANONYMOUS',
  'STREAMSOURCE_RATE_LIMIT_AUTHENTICATED',
  'STREAMSOURCE_RATE_LIMIT_SERVICE',
  'CABLE_LOCK_TTL_MS',
  'CABLE_COMMANDS_PER_SECOND',
  'CABLE_CREDENTIAL_REUSE_MS',
  'STREAM_CHAT_MAX_LENGTH',
  'STREAM_CHAT_PER_MINUTE',
  'STREAM_CHAT_PER_MINUTE_PER_IP',
  'STREAM_OPEN_PER_USER',
  'STREAM_INGEST_AUTH_FAILURES_PER_MINUTE',
  'WS_MAX_PAYLOAD',
  'WS_MESSAGES_PER_SECOND',
  'WS_SLOW_CLIENT_GRACE_MS',
  'WS_HEARTBEAT_MS',
  'WS_PRESENCE_LEAVE_MS',
  'WS_IDLE_MS',
  'WS_EVENT_HISTORY_SIZE',
  'WS_EVENT_HISTORY_SECONDS',
  'WS_MAX_SOCKETS_PER_SESSION',
  'WS_MAX_SOCKETS_PER_IP',
  'WS_UPGRADES_PER_MINUTE_PER_IP',
])
const BOOLEAN_KEYS = new Set(['WEBHOOK_ALLOW_PRIVATE', 'MAINTENANCE_MODE', 'STREAMSOURCE_SIGNUP_ENABLED'])
const BOOLEAN_VALUES: Record<string, boolean> = {
  true: true,
  '1': true,
  yes: true,
  false: false,
  '0': false,
  no: false,
}

function coerce(source: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const raw = source[key]
    if (raw === undefined || raw === '') continue
    const value = raw.trim()
    if (BOOLEAN_KEYS.has(key)) out[key] = BOOLEAN_VALUES[value.toLowerCase()] ?? value
    else out[key] = INTEGER_KEYS.has(key) && /^-?\d+$/.test(value) ? Number(value) : value
  }
  return out
}

/**
 * The JWT secret is never a built-in constant: when `JWT_SECRET` is unset a random one is
 * generated once and kept in `DATA_DIR/jwt-secret`, so tokens survive restarts. It is written
 * whole under another name and then linked in place, so a process starting at the same moment
 * (or one reading after a crash mid-write) never reads half a secret, and the first one wins.
 */
function loadOrCreateSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret')
  let secret: string
  try {
    if (!existsSync(file)) createSecretFile(file)
    secret = readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new ConfigError([
      `DATA_DIR=${JSON.stringify(dataDir)}: cannot keep the JWT secret there (${(err as Error).message})`,
    ])
  }
  if (secret.length < MIN_SECRET_LENGTH)
    throw new ConfigError([
      `${file} holds ${secret.length} characters; a JWT secret needs ${MIN_SECRET_LENGTH} or more. ` +
        'Remove the file to have a new one generated (every token issued so far stops working), or set JWT_SECRET.',
    ])
  return secret
}

function createSecretFile(file: string): void {
  mkdirSync(join(file, '..'), { recursive: true })
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`
  writeFileSync(draft, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' })
  try {
    linkSync(draft, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return // another process won: its secret
    // A file system without hard links: an exclusive copy still lets only one writer win.
    try {
      copyFileSync(draft, file, constants.COPYFILE_EXCL)
    } catch (copyErr) {
      if ((copyErr as NodeJS.ErrnoException).code !== 'EEXIST') throw copyErr
    }
  } finally {
    rmSync(draft, { force: true })
  }
}

/**
 * The live-stream URL templates: the ingest URL is the stream's secret, so it names `{key}`; the
 * playback URL is told to every socket of the campaign and is the registry's public link, so it
 * never names `{key}` (any viewer could publish) and names `{stream_id}` (the link is unique per
 * stream: one shared by all would refuse every stream after the first).
 */
function streamTemplateProblems(env: Env, problems: string[]): void {
  const ingest = env.STREAM_INGEST_URL_TEMPLATE
  const playback = env.STREAM_PLAYBACK_URL_TEMPLATE
  if (!ingest.includes('{key}'))
    problems.push(
      `STREAM_INGEST_URL_TEMPLATE=${JSON.stringify(ingest)}: must name {key}, the stream's secret publishing key`,
    )
  if (playback.includes('{key}'))
    problems.push(
      `STREAM_PLAYBACK_URL_TEMPLATE=${JSON.stringify(playback)}: must not name {key}: every viewer sees this URL, ` +
        'and the key lets its holder publish to the stream (name {stream_id} instead)',
    )
  else if (!playback.includes('{stream_id}'))
    problems.push(
      `STREAM_PLAYBACK_URL_TEMPLATE=${JSON.stringify(playback)}: must name {stream_id}, so that each stream has a URL of its own`,
    )
}

/** Parse the environment once. Throws `ConfigError` listing every bad value. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const input = Value.Default(EnvSchema, coerce(source)) as Record<string, unknown>
  const errors = [...Value.Errors(EnvSchema, input)]
  if (errors.length > 0) {
    const byKey = new Map<string, string>()
    for (const e of errors) {
      const key = e.instancePath.replace(/^\//, '').split('/')[0] ?? ''
      if (byKey.has(key)) continue
      const schema = (EnvSchema.properties as Record<string, any>)[key]
      // TypeBox says "must be integer", "must match pattern …": each reads after "must" as it is.
      const reason = schema?.anyOf
        ? `must be one of ${schema.anyOf.map((s: any) => s.const).join(', ')}`
        : /^must /.test(e.message)
          ? e.message
          : `must be ${e.message}`
      byKey.set(key, `${key}=${JSON.stringify(source[key] ?? '')}: ${reason}`)
    }
    throw new ConfigError([...byKey.values()])
  }
  const env = input as Env
  const problems: string[] = []
  try {
    compileTrustProxy(env.TRUST_PROXY)
  } catch {
    problems.push(
      `TRUST_PROXY=${JSON.stringify(env.TRUST_PROXY)}: must be true, false, or proxy addresses/CIDRs separated by commas`,
    )
  }
  // A key shaped like a signed token (x.y.z) is read as a session token on every request and
  // refused: the key would be created at start and never work.
  if (env.OVASABI_ADMIN_KEY !== undefined && !looksLikeApiKey(env.OVASABI_ADMIN_KEY))
    problems.push('OVASABI_ADMIN_KEY: must not be three dot-separated parts (the shape of a signed token)')
  if (env.REDIS_PREFIX !== undefined && !REDIS_PREFIX_PATTERN.test(env.REDIS_PREFIX))
    problems.push(
      `REDIS_PREFIX=${JSON.stringify(env.REDIS_PREFIX)}: must be 1 to 64 letters, digits, "_", "." or "-" ` +
        '(e.g. REDIS_PREFIX=staging), or unset for no prefix',
    )
  streamTemplateProblems(env, problems)
  const corsOrigins = parseOrigins(env.CORS_ORIGINS, problems)
  if (problems.length > 0) throw new ConfigError(problems)
  const dataDir = resolve(env.DATA_DIR)
  return Object.freeze({
    ...env,
    DATA_DIR: dataDir,
    MEDIA_DIR: resolve(env.MEDIA_DIR ?? join(dataDir, 'media')),
    JWT_SECRET: env.JWT_SECRET ?? loadOrCreateSecret(dataDir),
    CORS_ORIGINS: Object.freeze(corsOrigins),
    VERSION: readVersion(),
  })
}

/**
 * `CORS_ORIGINS` as the origins browsers send (`https://app.example`, lower case, no default port,
 * no path). Each one is matched exactly, by CORS and by the cookie rule, and its pages may call with
 * the visitor's login cookie, so a wildcard (`*`, `https://*.example`) is refused: it would be taken
 * literally and match nothing, and browsers refuse credentials with `Access-Control-Allow-Origin: *`.
 * An entry that is no origin (a path, a typo) is refused too, rather than never matching.
 */
function parseOrigins(raw: string, problems: string[]): string[] {
  const origins: string[] = []
  for (const entry of raw.split(',').map((s) => s.trim())) {
    if (!entry) continue
    const named = entry === raw.trim() ? `CORS_ORIGINS=${JSON.stringify(entry)}` : `CORS_ORIGINS: "${entry}"`
    if (entry.includes('*')) {
      problems.push(
        `${named}: wildcards are not supported (pages of these origins may send the login cookie, and ` +
          'browsers refuse credentials with "*"); list each origin, e.g. ' +
          'CORS_ORIGINS=https://www.example.com,https://app.example.com',
      )
      continue
    }
    let url: URL | undefined
    try {
      url = new URL(entry)
    } catch {}
    if (
      !url ||
      !['http:', 'https:'].includes(url.protocol) ||
      url.username ||
      url.password ||
      url.pathname !== '/' ||
      url.search ||
      url.hash
    ) {
      problems.push(
        `${named}: not an origin; give scheme, host and port only, e.g. https://app.example.com ` +
          'or http://localhost:5173',
      )
      continue
    }
    if (!origins.includes(url.origin)) origins.push(url.origin)
  }
  return origins
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    return String(pkg.version)
  } catch {
    return '0.0.0'
  }
}
