import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import type { ModuleManifest } from '../platform/module.js'
import type { EventSchemaRegistry } from './event-schemas.js'
import { isKnownExternal, KNOWN_EXTERNALS } from './externals.js'
import type { ActionInfo } from './graph.builder.js'

export interface ValidationProblem {
  code:
    | 'UNKNOWN_DEPENDENCY'
    | 'UNKNOWN_FEATURE'
    | 'UNREGISTERED_ACTION'
    | 'UNDECLARED_ACTION'
    | 'MISSING_EVENT_SCHEMA'
    | 'MISSING_TABLE'
    | 'MISSING_ROUTE'
    | 'DUPLICATE_ENDPOINT'
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
  /** Whether the server really serves a declared endpoint (Fastify `hasRoute`). */
  hasRoute?: (method: string, path: string) => boolean
}

/**
 * Checks that the declarations agree with each other and with the running code: every
 * dependency names a module or a known external, every feature is in the catalogue, every action
 * is both registered and declared, every emitted event has a schema, every table exists after
 * migrations, every declared endpoint is served.
 */
export function validateDeclarations(input: ValidationInput): ValidationProblem[] {
  const problems: ValidationProblem[] = []
  const add = (code: ValidationProblem['code'], subject: string, message: string) =>
    problems.push({ code, subject, message })
  const moduleNames = new Set(input.modules.map((m) => m.name))
  const registered = new Map(input.actions.map((a) => [a.name, a]))
  const declaredActions = new Set<string>()
  const endpoints = new Map<string, string>()
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
      if (e.direction !== 'emits') continue
      if (!e.schema && !input.eventSchemas.get(e.channel, 'send', e.name))
        add(
          'MISSING_EVENT_SCHEMA',
          subject,
          `${m.name} emits ${e.channel} event "${e.name}" without a schema (add \`schema:\` to the manifest event or register it in app.eventSchemas)`,
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
      if (input.hasRoute && !input.hasRoute(e.method, e.path))
        add('MISSING_ROUTE', subject, `${m.name} declares ${k}, but the server has no such route`)
    }
  }
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

/** Tables in the connected database's current schema (after migrations), on PGlite and PostgreSQL. */
export async function existingTables(db: Db): Promise<Set<string>> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db)
  return new Set(rows.map((r) => r.table_name))
}
