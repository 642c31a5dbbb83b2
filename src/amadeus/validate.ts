import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import type { EndpointDeclaration, ModuleManifest } from '../platform/module.js'
import type { EventSchemaRegistry } from './event-schemas.js'
import { externalDeclaration, isKnownExternal, KNOWN_EXTERNALS } from './externals.js'
import type { ActionInfo } from './graph.builder.js'
import type { ServedRoute } from './served-routes.js'

export interface ValidationProblem {
  code:
    | 'UNKNOWN_DEPENDENCY'
    | 'UNKNOWN_FEATURE'
    | 'UNREGISTERED_ACTION'
    | 'UNDECLARED_ACTION'
    | 'MISSING_EVENT_SCHEMA'
    | 'MISSING_TABLE'
    | 'UNDECLARED_TABLE'
    | 'MISSING_ROUTE'
    | 'UNDECLARED_ROUTE'
    | 'DUPLICATE_ENDPOINT'
    | 'AUTH_MISMATCH'
    | 'UNCONSUMED_CHANNEL'
    | 'UNPUBLISHED_CHANNEL'
  /** The node the problem is about, e.g. `module:nexus`. */
  subject: string
  message: string
}

export interface ValidationInput {
  modules: ModuleManifest[]
  actions: ActionInfo[]
  features: readonly string[]
  eventSchemas: EventSchemaRegistry
  /** Tables that exist in the migrated database. */
  tables: Set<string>
  /**
   * Whether `tables` is every table of the database (`existingTables`), so that a `service_` table
   * no manifest declares is reported; a partial list (a fixture's) says nothing of the others.
   */
  tablesComplete?: boolean
  /** Whether the server really serves a declared endpoint (Fastify `hasRoute`). */
  hasRoute?: (method: string, path: string) => boolean
  /** Every route the server serves (`collectServedRoutes`): each must be declared. */
  servedRoutes?: readonly ServedRoute[]
  /** Paths answered as WebSocket upgrades outside Fastify's router (`/cable`): served for `GET`. */
  upgradePaths?: readonly string[]
}

/**
 * Checks that the declarations agree with each other and with the running code: every
 * dependency names a module or a known external, every feature is in the catalogue, every action
 * is both registered and declared, every emitted event and every frame a client sends on `ws` or
 * `cable` has a schema, every table exists after migrations and every `service_` table is
 * declared, every declared endpoint is served and every served route is declared, a route the
 * graph calls public asks for no credential in its schema (and one it guards asks for one), and
 * every bus channel has both a declared publisher and a declared subscriber.
 */
export function validateDeclarations(input: ValidationInput): ValidationProblem[] {
  const problems: ValidationProblem[] = []
  const add = (code: ValidationProblem['code'], subject: string, message: string) =>
    problems.push({ code, subject, message })
  const moduleNames = new Set(input.modules.map((m) => m.name))
  const registered = new Map(input.actions.map((a) => [a.name, a]))
  const declaredActions = new Set<string>()
  const endpoints = new Map<string, string>()
  const auth = new Map<string, EndpointDeclaration['auth']>()
  const known = (f: string) => input.features.includes(f)

  for (const m of input.modules) {
    const subject = `module:${m.name}`
    for (const dep of m.dependencies) {
      if (!moduleNames.has(dep) && !isKnownExternal(dep))
        add(
          'UNKNOWN_DEPENDENCY',
          subject,
          `${m.name} depends on "${dep}", which is neither a registered module nor a known external (${KNOWN_EXTERNALS.join(', ')})`,
        )
    }
    for (const f of m.features)
      if (!known(f)) add('UNKNOWN_FEATURE', subject, `${m.name} declares feature "${f}", not in FEATURES`)
    for (const a of m.actions) {
      declaredActions.add(a)
      if (!registered.has(a))
        add(
          'UNREGISTERED_ACTION',
          subject,
          `${m.name} declares action "${a}", but no such action is registered`,
        )
    }
    for (const e of m.events) {
      // What a client sends is read by the gateway and documented by AsyncAPI from its schema, as
      // what the server sends is; a bus or webhook consumer reads what its publisher declared.
      const direction = e.direction === 'emits' ? 'send' : 'receive'
      if (direction === 'receive' && e.channel !== 'ws' && e.channel !== 'cable') continue
      if (!e.schema && !input.eventSchemas.get(e.channel, direction, e.name))
        add(
          'MISSING_EVENT_SCHEMA',
          subject,
          `${m.name} ${direction === 'send' ? 'emits' : 'consumes'} ${e.channel} event "${e.name}" without a schema (add \`schema:\` to the manifest event or register it in app.eventSchemas)`,
        )
    }
    for (const t of m.tables)
      if (!input.tables.has(t))
        add('MISSING_TABLE', subject, `${m.name} stores in table "${t}", which no migration creates`)
    for (const e of m.endpoints) {
      const k = `${e.method} ${e.path}`
      const owner = endpoints.get(k)
      if (owner) add('DUPLICATE_ENDPOINT', subject, `${k} is declared by both ${owner} and ${m.name}`)
      endpoints.set(k, m.name)
      auth.set(k, e.auth)
      const upgrade = e.method === 'GET' && (input.upgradePaths ?? []).includes(e.path)
      if (input.hasRoute && !upgrade && !input.hasRoute(e.method, e.path))
        add('MISSING_ROUTE', subject, `${m.name} declares ${k}, but the server has no such route`)
    }
  }
  if (input.tablesComplete) undeclaredTables(input.modules, input.tables, add)
  if (input.servedRoutes) {
    undeclaredRoutes(input.servedRoutes, endpoints, add)
    authAgrees(input.servedRoutes, auth, add)
  }
  busChannels(input.modules, add)
  for (const a of input.actions) {
    if (!known(a.feature))
      add(
        'UNKNOWN_FEATURE',
        `action:${a.name}`,
        `action ${a.name} is enabled by "${a.feature}", not in FEATURES`,
      )
    if (!declaredActions.has(a.name))
      add(
        'UNDECLARED_ACTION',
        `action:${a.name}`,
        `action ${a.name} is registered but no module manifest declares it`,
      )
  }
  return problems
}

type Add = (code: ValidationProblem['code'], subject: string, message: string) => void

/**
 * A served route no manifest declares is missing from the graph: impact analysis cannot name it
 * (a readiness probe that fails with the database). Needs no declaration: the `HEAD` Fastify adds
 * beside every `GET` (and that static file plugins register with theirs), and the CORS preflight
 * `OPTIONS *` that @fastify/cors adds when `CORS_ORIGINS` is set, which answers for every route.
 */
function undeclaredRoutes(served: readonly ServedRoute[], declared: Map<string, string>, add: Add): void {
  const keys = new Set(served.map((r) => `${r.method} ${r.url}`))
  const reported = new Set<string>()
  for (const r of served) {
    const k = `${r.method} ${r.url}`
    if (declared.has(k) || reported.has(k)) continue
    // `/docs/` is the `GET /docs` route with a slash: Fastify runs no onRoute hook for that copy.
    if (r.method === 'HEAD' && (keys.has(`GET ${r.url}`) || keys.has(`GET ${r.url.replace(/\/$/, '')}`)))
      continue
    if (r.method === 'OPTIONS' && (r.url === '*' || r.url === '/*')) continue
    reported.add(k)
    add('UNDECLARED_ROUTE', `endpoint:${k}`, `the server serves ${k}, but no module manifest declares it`)
  }
}

/** The migrator's own bookkeeping (`platform/db/migrate.ts`): no module stores in it. */
const MIGRATION_TABLES = new Set(['service_schema_migration', 'service_schema_migration_lock'])

/**
 * A table a migration created that no manifest (nor the platform, for API keys) declares is
 * missing from the graph: impact analysis of the database or of the module that writes it cannot
 * name it. Only the platform's own naming (`service_{service}_{entity}`) is checked, so another
 * application's tables in a shared schema are not ours to declare.
 */
function undeclaredTables(modules: ModuleManifest[], tables: Set<string>, add: Add): void {
  const declared = new Set(modules.flatMap((m) => m.tables))
  for (const name of KNOWN_EXTERNALS)
    for (const t of externalDeclaration(name, { dialect: 'postgres', redis: false }).tables) declared.add(t)
  for (const t of [...tables].sort()) {
    if (!t.startsWith('service_') || declared.has(t) || MIGRATION_TABLES.has(t)) continue
    add(
      'UNDECLARED_TABLE',
      `table:${t}`,
      `table "${t}" exists in the database, but no module manifest declares it`,
    )
  }
}

/**
 * The graph's `auth` and the route's schema say the same to different readers (impact analysis and
 * the auth sweeps read the graph; clients and generated SDKs read the OpenAPI security): a public
 * route declared as guarded, or the reverse, misleads one of them. Routes without a schema are
 * not compared.
 */
function authAgrees(
  served: readonly ServedRoute[],
  declared: Map<string, EndpointDeclaration['auth']>,
  add: Add,
): void {
  for (const r of served) {
    const k = `${r.method} ${r.url}`
    const a = declared.get(k)
    if (a === undefined || r.secured === undefined || (a === 'public') !== r.secured) continue
    add(
      'AUTH_MISMATCH',
      `endpoint:${k}`,
      a === 'public'
        ? `${k} is declared public, but its schema asks for a credential (security)`
        : `${k} is declared "${a}", but its schema asks for no credential (no security): declare it public, or name its security`,
    )
  }
}

/**
 * A bus channel is a contract between modules: one published with no declared subscriber (or the
 * reverse) means a manifest does not say what the code does, and the graph cannot tell who a
 * change of the message breaks.
 */
function busChannels(modules: ModuleManifest[], add: Add): void {
  const channels = new Map<string, { emits: string[]; consumes: string[] }>()
  for (const m of modules)
    for (const e of m.events) {
      if (e.channel !== 'bus') continue
      const c = channels.get(e.name) ?? { emits: [], consumes: [] }
      c[e.direction].push(m.name)
      channels.set(e.name, c)
    }
  for (const [name, c] of channels) {
    const subject = `event:bus:${name}`
    if (c.consumes.length === 0)
      add(
        'UNCONSUMED_CHANNEL',
        subject,
        `${c.emits.join(', ')} publish(es) on bus channel ${name}, but no module declares consuming it`,
      )
    if (c.emits.length === 0)
      add(
        'UNPUBLISHED_CHANNEL',
        subject,
        `${c.consumes.join(', ')} consume(s) bus channel ${name}, but no module declares publishing it`,
      )
  }
}

/** Tables in the connected database's current schema (after migrations), on PGlite and PostgreSQL. */
export async function existingTables(db: Db): Promise<Set<string>> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db)
  return new Set(rows.map((r) => r.table_name))
}
