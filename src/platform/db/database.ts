import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import pg from 'pg'
import type { Config } from '../../config.js'
import { AppError } from '../http/errors.js'
import { lockDataDir } from './lock.js'
import { preparingClient } from './prepared.js'
import type { Database } from './tables.js'

export type Db = Kysely<Database>

/** The database handle every service receives. */
export interface DatabaseHandle {
  readonly db: Db
  readonly dialect: 'pglite' | 'postgres'
  /** Connections in use / total, for metrics. PGlite has one. */
  poolStats(): { total: number; idle: number; waiting: number }
  ping(): Promise<void>
  close(): Promise<void>
}

const INT8 = 20
const NUMERIC = 1700

/**
 * PostgreSQL cannot be reached, or the connection broke mid-statement: a state, not a fault, so a
 * 503 with `Retry-After` (a client retries with its `request_id`) instead of a masked 500. The
 * message a client sees names no host; the one at start-up does, for the operator.
 */
export class DatabaseUnavailableError extends AppError {
  constructor(message = 'The database is unreachable; retry shortly', cause?: unknown) {
    super(503, 'DATABASE_UNAVAILABLE', message, { headers: { 'retry-after': '5' }, cause })
  }
}

const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])
/** Shutdown, crash, recovery in progress, too many connections: the server, not the statement. */
const SERVER_GONE = new Set(['57P01', '57P02', '57P03', '53300'])
const LOST =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/

/** Whether `err` says the connection is gone (SQLSTATE class 08, a socket error, pg's own words). */
function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  if (typeof code === 'string' && (NETWORK_ERRORS.has(code) || SERVER_GONE.has(code))) return true
  if (typeof code === 'string' && code.startsWith('08') && code !== '08P01') return true
  return err instanceof Error && LOST.test(err.message)
}

/** `postgres://user:secret@db:5432/app` as `db:5432/app`: never the credentials. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || 5432}${u.pathname}`
  } catch {
    return 'the configured address'
  }
}

/** PGlite (embedded, `DATA_DIR/pglite`) unless `DATABASE_URL` is set, then a PostgreSQL pool. */
export async function createDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'DATABASE_POOL_SIZE'>,
  options: { memory?: boolean; image?: Blob } = {},
): Promise<DatabaseHandle> {
  if (config.DATABASE_URL) return createPostgres(config.DATABASE_URL, config.DATABASE_POOL_SIZE)
  if (options.memory) return createPglite(undefined, options.image)
  return createPglite(join(config.DATA_DIR, 'pglite'))
}

async function createPostgres(url: string, max: number): Promise<DatabaseHandle> {
  // Counters are bigint in SQL but stay far below 2^53: numbers are what the API returns.
  const types = {
    getTypeParser: (oid: number, format?: any) =>
      oid === INT8 || oid === NUMERIC ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format),
  }
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000, types: types as any })
  pool.on('error', () => {}) // an idle client dropped by the server; the pool replaces it
  pool.on('connect', (client) => {
    // A client checked out of the pool has no listener of its own: a connection lost between two
    // statements of a transaction (PostgreSQL restarted, a network cut) would emit an unhandled
    // 'error' and end the process. The statement in flight, or the next one, fails instead, and
    // the pool drops the broken client when it is released.
    client.on('error', () => {})
    preparingClient(client)
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    client.query = ((...args: unknown[]) => {
      const result = query(...args)
      if (!(result instanceof Promise)) return result
      return result.catch((err: unknown) => {
        throw isConnectionLoss(err) ? new DatabaseUnavailableError(undefined, err) : err
      })
    }) as typeof client.query
  })
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient> | undefined
  // Kysely checks a client out for every statement or transaction: a refused or timed-out
  // connection is the database being away. The callback form (pg's own `pool.query` uses it)
  // is passed through as it is.
  pool.connect = ((...args: unknown[]) => {
    if (typeof args[0] === 'function') return connect(...args)
    return (connect() as Promise<pg.PoolClient>).catch((err: unknown) => {
      throw new DatabaseUnavailableError(undefined, err)
    })
  }) as typeof pool.connect
  // Fail the start with the reason, naming the setting, rather than at the first migration.
  try {
    ;(await (connect() as Promise<pg.PoolClient>)).release()
  } catch (err) {
    await pool.end().catch(() => {})
    throw new DatabaseUnavailableError(
      `Cannot connect to PostgreSQL at ${describeUrl(url)} (DATABASE_URL): ${(err as Error).message}`,
      err,
    )
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return {
    db,
    dialect: 'postgres',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    ping: async () => {
      await sql`select 1`.execute(db)
    },
    close: () => db.destroy(),
  }
}

/** PGlite in `dir`, or in memory (empty, or from `image`, a dumped data directory). */
async function createPglite(dir: string | undefined, image?: Blob): Promise<DatabaseHandle> {
  const release = dir ? lockDataDir(join(dir, '..')) : () => {}
  try {
    const client = await PGlite.create({
      ...(dir ? { dataDir: dir } : {}),
      ...(image ? { loadDataDir: image } : {}),
      parsers: { [INT8]: (v: string) => Number(v), [NUMERIC]: (v: string) => Number(v) },
    })
    const db = new Kysely<Database>({ dialect: new PGliteDialect(client) })
    let closed = false
    return {
      db,
      dialect: 'pglite',
      poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
      ping: async () => {
        await sql`select 1`.execute(db)
      },
      close: async () => {
        if (closed) return
        closed = true
        await db.destroy()
        release()
      },
    }
  } catch (err) {
    release()
    throw err
  }
}
