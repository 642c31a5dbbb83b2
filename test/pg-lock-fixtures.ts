import { sql } from 'kysely'
import type pg from 'pg'
import type { Db } from '../src/platform/db/database.js'
import { waitFor } from './wait-for.js'

/**
 * How many other sessions of `client`'s database wait on a lock right now (only advisory locks
 * when `event` is 'advisory').
 */
export async function lockWaiters(client: pg.Client, event?: 'advisory'): Promise<number> {
  const { rows } = await client.query(
    `select count(*)::int as n from pg_stat_activity
     where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()
       and ($1::text is null or wait_event = $1)`,
    [event ?? null],
  )
  return rows[0].n
}

/** How many connections to `db`'s database wait on a lock right now. */
const lockWaitersOn = async (db: Db) => {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'`.execute(db)
  return rows[0]!.n
}

/**
 * Resolves once a connection to `db`'s database waits on a lock (one the test holds in a
 * transaction of its own); throws after `waitFor`'s deadline.
 */
export const someoneWaitsOnLock = (db: Db, what = 'a transaction waiting for the lock held') =>
  waitFor(async () => (await lockWaitersOn(db)) > 0, what)

/**
 * Runs `request` while a transaction of the test's holds what `hold` locked: once the request
 * waits on it, `finish` runs in that transaction, which then commits; returns the request's
 * answer. A request that ended without waiting fails the test (it did not race).
 */
export async function requestWhileHolding<T>(
  db: Db,
  hold: (trx: Db) => Promise<void>,
  request: () => Promise<T>,
  finish: (trx: Db) => Promise<void>,
  what: string,
): Promise<T> {
  let pending: Promise<T> | undefined
  let settled = false
  await db.transaction().execute(async (trx) => {
    await hold(trx)
    pending = request().finally(() => {
      settled = true
    })
    pending.catch(() => {}) // awaited below; this only keeps an early failure from going unhandled
    await waitFor(async () => settled || (await lockWaitersOn(db)) > 0, `${what} waiting on the lock held`)
    if (settled) throw new Error(`${what} ended without waiting on the lock held`)
    await finish(trx)
  })
  return pending!
}

/**
 * Runs `request` while `holder` keeps `statement` (an update that locks the rows the request
 * needs) uncommitted: commits once the request waits on them, then returns the request's answer.
 * The request thus sees the rows as they were, and must cope with them changing under it.
 */
export async function racingUncommitted<T>(
  holder: pg.Client,
  statement: string,
  params: unknown[],
  request: () => Promise<T>,
  what: string,
): Promise<T> {
  await holder.query('begin')
  await holder.query(statement, params)
  let settled = false
  const pending = request().finally(() => {
    settled = true
  })
  pending.catch(() => {}) // awaited below; this only keeps an early failure from going unhandled
  const seen = await waitFor(
    async () => (settled ? 'ended' : (await lockWaiters(holder)) > 0 ? 'waiting' : undefined),
    what,
  )
  await holder.query('commit')
  if (seen === 'ended') throw new Error(`${what}: the request ended without waiting on the rows held`)
  return pending
}
