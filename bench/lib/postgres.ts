import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** `DATABASE_URL`, or the local default the project's CI uses. */
export const BENCH_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test'

export interface FreshDatabase {
  url: string
  name: string
  /** Run a query against it (a short-lived client), e.g. to count rows after a run. */
  query<T extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<T[]>
  /** Drop it, closing any connection still open to it. */
  drop(): Promise<void>
}

async function onServer<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** Create an empty database on the server of `baseUrl` for one bench run. */
export async function freshDatabase(
  baseUrl = BENCH_DATABASE_URL,
  prefix = 'ovasabi_bench',
): Promise<FreshDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
  await onServer(baseUrl, (c) => c.query(`create database ${name}`))
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    query: (text, values) =>
      onServer(url.toString(), async (c) => (await c.query(text, values as any[])).rows),
    drop: async () => {
      await onServer(baseUrl, (c) => c.query(`drop database if exists ${name} with (force)`))
    },
  }
}
