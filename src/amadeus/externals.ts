/**
 * What a manifest may name in `dependencies` besides another module: infrastructure outside the
 * modules. `database`, `redis`, `bus`, `auth` and `ratelimit` are built by the platform itself
 * (`platform.ts`, `app.ts`), so they are always in the graph; the others appear when a module
 * declares them or registers a health check under their name.
 */
export const KNOWN_EXTERNALS = [
  'database',
  'redis',
  'bus',
  'auth',
  'ratelimit',
  'translation',
  'storage',
  'webhooks',
  'mail',
] as const
export type ExternalName = (typeof KNOWN_EXTERNALS)[number]

const ALWAYS: ExternalName[] = ['database', 'redis', 'bus', 'auth', 'ratelimit']

export interface PlatformFacts {
  dialect: 'pglite' | 'postgres'
  /** Whether `REDIS_URL` is configured. */
  redis: boolean
}

export interface ExternalDeclaration {
  name: ExternalName
  label: string
  data: Record<string, unknown>
  dependsOn: ExternalName[]
  tables: string[]
}

export function isKnownExternal(name: string): name is ExternalName {
  return (KNOWN_EXTERNALS as readonly string[]).includes(name)
}

/**
 * The platform's own declarations, as `platform.ts` and `app.ts` wire them: the bus and the rate
 * limiter use Redis only when it is configured; API keys live in the database.
 */
export function externalDeclaration(name: ExternalName, facts: PlatformFacts): ExternalDeclaration {
  switch (name) {
    case 'database':
      return {
        name,
        label: facts.dialect === 'postgres' ? 'PostgreSQL' : 'PGlite (embedded)',
        data: { dialect: facts.dialect },
        dependsOn: [],
        tables: [],
      }
    case 'redis':
      return { name, label: 'Redis', data: { configured: facts.redis }, dependsOn: [], tables: [] }
    case 'bus':
      return {
        name,
        label: facts.redis ? 'Event bus (Redis pub/sub)' : 'Event bus (in-memory)',
        data: { adapter: facts.redis ? 'redis' : 'memory' },
        dependsOn: facts.redis ? ['redis'] : [],
        tables: [],
      }
    case 'auth':
      return {
        name,
        label: 'Auth (JWT sessions, API keys)',
        data: {},
        dependsOn: ['database'],
        tables: ['service_security_apikey'],
      }
    case 'ratelimit':
      return {
        name,
        label: facts.redis ? 'Rate limits (shared in Redis)' : 'Rate limits (per process)',
        data: { store: facts.redis ? 'redis' : 'memory' },
        dependsOn: facts.redis ? ['redis'] : [],
        tables: [],
      }
    case 'translation':
      return { name, label: 'Translation (LibreTranslate)', data: {}, dependsOn: [], tables: [] }
    case 'storage':
      return { name, label: 'Object storage (disk | S3)', data: {}, dependsOn: [], tables: [] }
    case 'webhooks':
      return { name, label: 'Webhook targets', data: {}, dependsOn: [], tables: [] }
    case 'mail':
      return { name, label: 'Mail (SMTP)', data: {}, dependsOn: [], tables: [] }
  }
}

/** Externals in the graph: the platform's own, plus those declared or health-checked. */
export function presentExternals(referenced: Iterable<string>): ExternalName[] {
  const present = new Set<ExternalName>(ALWAYS)
  for (const name of referenced) if (isKnownExternal(name)) present.add(name)
  return KNOWN_EXTERNALS.filter((n) => present.has(n))
}
