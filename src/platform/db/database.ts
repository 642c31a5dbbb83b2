import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import pg from 'pg'
import type { Config } from '../../config.js'
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

/** PGlite (embedded, `DATA_DIR/pglite`) unless `DATABASE_URL` is set, then a PostgreSQL pool. */
export async function createDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'DATABASE_POOL_SIZE'>,
  options: { memory?: boolean } = {},
): Promise<DatabaseHandle> {
  if (config.DATABASE_URL) return createPostgres(config.DATABASE_URL, config.DATABASE_POOL_SIZE)
  return createPglite(options.memory ? undefined : join(config.DATA_DIR, 'pglite'))
}

async function createPostgres(url: string, max: number): Promise<DatabaseHandle> {
  // Counters are bigint in SQL but stay far below 2^53: numbers are what the API returns.
  const types = {
    getTypeParser: (oid: number, format?: any) =>
      oid === INT8 || oid === NUMERIC ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format),
  }
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000, types: types as any })
  pool.on('error', () => {}) // an idle client dropped by the server; the pool replaces it
  pool.on('connect', preparingClient)
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

async function createPglite(dir: string | undefined): Promise<DatabaseHandle> {
  const release = dir ? lockDataDir(join(dir, '..')) : () => {}
  try {
    const client = await PGlite.create({
      ...(dir ? { dataDir: dir } : {}),
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
