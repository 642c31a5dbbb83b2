// The webhook outbox is read by endpoint everywhere after the write: an endpoint's message list,
// a replay, a recovery, `enable`, and deleting the endpoint (its `on delete cascade`). Before 032
// no index led with `webhook_id`, so each of those read the whole outbox: a list of one endpoint's
// messages beside many rows of another took ~100 ms. Migration 032 turns the outbox's unique key
// round, (message_id, webhook_id) to (webhook_id, message_id) — no index more on the lead path —
// and the list pages in that key's order. Planner choices are asserted, not timings: EXPLAIN of
// the list, and the scan counters of the transaction that ran a statement (the cascade's delete
// runs inside a trigger, where EXPLAIN does not reach).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import { ulid } from 'ulid'
import * as m032 from '../src/platform/db/migrations/032_webhook_outbox_by_endpoint.js'
import * as repo from '../src/modules/notification/webhook.repo.js'
import type { Db } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { DIALECTS, withDatabase } from './helper.js'
import { migrateBefore } from './migrate-before.js'
import { plansOf } from './plan-fixtures.js'

const MIGRATION = '032_webhook_outbox_by_endpoint'
const KEY = 'service_notification_outbox_endpoint_message'
const BIG = 'wh_big'
const SMALL = 'wh_small'
const HOUR = 3_600_000

async function addEndpoint(db: Db, id: string) {
  await sql`
    insert into service_notification_webhook (id, campaign_slug, url, events, secret_sealed, created_by)
    values (${id}, 'camp', 'https://crm.example.com/hook', '["*"]'::jsonb, 'sealed', 'test')`.execute(db)
}

/**
 * 20,000 messages in the outbox: one in 500 to a small endpoint, the rest to a big one, message
 * ids in the order they were queued (as ULIDs are), a tenth failed; then `analyze`.
 */
async function seed(db: Db): Promise<void> {
  await addEndpoint(db, BIG)
  await addEndpoint(db, SMALL)
  await sql`
    insert into service_notification_outbox
      (message_id, webhook_id, campaign_slug, event, subject_id, payload, status, attempts, last_error)
    select 'msg_01' || lpad(g::text, 24, '0'),
           case when g % 500 = 0 then ${SMALL} else ${BIG} end,
           'camp', 'lead.created', 'lead_' || g, '{"type":"lead.created"}'::jsonb,
           case when g % 10 = 0 then 'failed' else 'delivered' end, 5,
           case when g % 10 = 0 then 'HTTP 503' end
    from generate_series(1, 20000) g`.execute(db)
  await sql`analyze service_notification_outbox`.execute(db)
  await sql`analyze service_notification_webhook`.execute(db)
}

/**
 * Runs `run` in a transaction and says how it read the outbox: sequential scans of the table and
 * scans of the endpoint key, counted by the server for this transaction (then rolled back).
 */
async function scansOf(db: Db, run: (trx: Db) => Promise<unknown>) {
  const counters = (trx: Db) =>
    sql<{ seq: number; key: number }>`
      select pg_stat_get_xact_numscans('service_notification_outbox'::regclass)::int as seq,
             coalesce(pg_stat_get_xact_numscans(to_regclass(${KEY})), 0)::int as key`
      .execute(trx)
      .then((r) => r.rows[0]!)
  let scans = { seq: 0, key: 0 }
  await db
    .transaction()
    .execute(async (trx) => {
      const before = await counters(trx)
      await run(trx)
      const after = await counters(trx)
      scans = { seq: after.seq - before.seq, key: after.key - before.key }
      throw new Rollback()
    })
    .catch((err) => {
      if (!(err instanceof Rollback)) throw err
    })
  return scans
}

class Rollback extends Error {}

for (const dialect of DIALECTS) {
  describe(`webhook outbox read by endpoint (${dialect})`, () => {
    it("lists an endpoint's messages from the endpoint key, newest first, without sorting or scanning", async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        await seed(db)
        const cases: [string, (q: Db) => Promise<unknown>][] = [
          ['small, first page', (q) => repo.listMessages(q, SMALL, 100)],
          [
            'small, past a cursor',
            (q) => repo.listMessages(q, SMALL, 100, { before: 'msg_01' + '5000'.padStart(24, '0') }),
          ],
          ['small, failed ones', (q) => repo.listMessages(q, SMALL, 100, { status: 'failed' })],
          ['big, first page', (q) => repo.listMessages(q, BIG, 100)],
          [
            'big, past a cursor',
            (q) => repo.listMessages(q, BIG, 100, { before: 'msg_01' + '15000'.padStart(24, '0') }),
          ],
        ]
        for (const [name, run] of cases) {
          const plans = await plansOf(db, run)
          assert.equal(plans.length, 1, `${name}: one statement`)
          const plan = plans[0]!
          assert.match(plan, new RegExp(KEY), `${name}: ${plan}`)
          assert.doesNotMatch(plan, /Seq Scan/, `${name}: ${plan}`)
          // A page of the big endpoint is read off the key in order, not sorted out of its rows.
          if (name.startsWith('big')) assert.doesNotMatch(plan, /Sort/, `${name}: ${plan}`)
        }

        // And run: newest first, the cursor and the status as asked.
        const small = await repo.listMessages(db, SMALL, 100)
        assert.deepEqual(
          small.map((m) => m.message_id),
          Array.from({ length: 40 }, (_, i) => `msg_01${String((40 - i) * 500).padStart(24, '0')}`),
        )
        const page = await repo.listMessages(db, SMALL, 3, { before: small[1]!.message_id, status: 'failed' })
        assert.deepEqual(
          page.map((m) => m.message_id),
          small.slice(2, 5).map((m) => m.message_id),
        )
        assert.ok(page.every((m) => m.status === 'failed'))
      })
    })

    it("deletes, replays, recovers and wakes one endpoint's messages without scanning the outbox", async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        await seed(db)
        const failed = `msg_01${'1000'.padStart(24, '0')}`
        const statements: [string, (trx: Db) => Promise<unknown>, boolean?][] = [
          ['list', (trx) => repo.listMessages(trx, SMALL, 100)],
          [
            'replay',
            async (trx) => assert.deepEqual(await repo.replay(trx, SMALL, failed), { outcome: 'queued' }),
          ],
          [
            'recover',
            async (trx) =>
              assert.equal(await repo.recover(trx, SMALL, new Date(Date.now() - HOUR), { batchSize: 5 }), 40),
          ],
          // Nothing of it waits: the status index finds that as well as the key would.
          ['enable (due now)', (trx) => repo.dueNow(trx, SMALL), false],
          [
            // The cascade (`on delete cascade`) deletes the endpoint's outbox rows from a trigger.
            'delete the endpoint',
            async (trx) => {
              assert.equal(await repo.deleteWebhook(trx, 'camp', SMALL), true)
              const { rows } = await sql<{ n: number }>`
                select count(*)::int as n from service_notification_outbox where webhook_id = ${SMALL}`.execute(
                trx,
              )
              assert.equal(rows[0]!.n, 0, 'its messages went with it')
            },
          ],
        ]
        for (const [name, run, viaKey = true] of statements) {
          const scans = await scansOf(db, run)
          assert.equal(scans.seq, 0, `${name}: no sequential scan of the outbox (${JSON.stringify(scans)})`)
          if (viaKey)
            assert.ok(scans.key > 0, `${name}: read through the endpoint key (${JSON.stringify(scans)})`)
        }
        // Rolled back: the endpoint and its messages are still there.
        assert.equal((await repo.listMessages(db, SMALL, 500)).length, 40)
      })
    })

    it('pages newest first by message id, each once, and on past a message deleted since', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        await addEndpoint(db, SMALL)
        // Queued a second apart, written to the outbox in another order (as commits can land).
        const start = Date.now() - HOUR
        const ids = Array.from({ length: 7 }, (_, i) => `msg_${ulid(start + i * 1000)}`)
        const written = [3, 0, 6, 1, 5, 2, 4].map((i) => ids[i]!)
        await db
          .insertInto('service_notification_outbox')
          .values(
            written.map((message_id) => ({
              message_id,
              webhook_id: SMALL,
              campaign_slug: 'camp',
              event: 'lead.created',
              subject_id: null,
              payload: '{}',
            })),
          )
          .execute()
        const newestFirst = [...ids].reverse()
        const seen: string[] = []
        let before: string | undefined
        for (;;) {
          const got = await repo.listMessages(db, SMALL, 2, { before })
          if (got.length === 0) break
          seen.push(...got.map((m) => m.message_id))
          before = got.at(-1)!.message_id
        }
        assert.deepEqual(seen, newestFirst, 'newest first, each once')

        // Retention deleted the message a client's cursor names: the next page still follows it.
        const cursor = newestFirst[2]!
        await db.deleteFrom('service_notification_outbox').where('message_id', '=', cursor).execute()
        const next = await repo.listMessages(db, SMALL, 2, { before: cursor })
        assert.deepEqual(
          next.map((m) => m.message_id),
          newestFirst.slice(3, 5),
        )
      })
    })

    it('applies 032 to a database migrated before it, rows and all: the key turned, still unique', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateBefore(db, MIGRATION)
        await addEndpoint(db, BIG)
        await addEndpoint(db, SMALL)
        const row = (webhook_id: string, message_id: string) => ({
          message_id,
          webhook_id,
          campaign_slug: 'camp',
          event: 'lead.created',
          subject_id: null,
          payload: '{}',
        })
        await db
          .insertInto('service_notification_outbox')
          .values([row(BIG, 'msg_A'), row(SMALL, 'msg_A'), row(BIG, 'msg_B')])
          .execute()

        assert.equal((await migrateToLatest(db))[0], MIGRATION)
        const keys = async () =>
          (
            await sql<{ name: string; def: string }>`
              select indexname as name, indexdef as def from pg_indexes
              where tablename = 'service_notification_outbox' order by indexname`.execute(db)
          ).rows
        const after = await keys()
        const key = after.find((i) => i.name === KEY)
        assert.ok(key, JSON.stringify(after))
        assert.match(key.def, /^CREATE UNIQUE INDEX .* \(webhook_id, message_id\)$/)
        assert.equal(
          after.some((i) => i.name === 'service_notification_outbox_message'),
          false,
          'the old key is gone: as many indexes to write per lead as before',
        )
        assert.equal(after.length, 4, JSON.stringify(after))
        assert.deepEqual(await migrateToLatest(db), [])

        // One row per endpoint and `webhook-id`, as before: a receiver deduplicates on it.
        await assert.rejects(
          db.insertInto('service_notification_outbox').values(row(BIG, 'msg_A')).execute(),
          (err: { code?: string }) => err.code === '23505',
        )
        await db.insertInto('service_notification_outbox').values(row(SMALL, 'msg_B')).execute()
        assert.deepEqual(
          (await repo.listMessages(db, BIG, 10)).map((m) => m.message_id),
          ['msg_B', 'msg_A'],
        )

        // Down and up again: the old key back, then the turned one.
        await m032.down(db)
        assert.ok((await keys()).some((i) => i.name === 'service_notification_outbox_message'))
        assert.equal(
          (await keys()).some((i) => i.name === KEY),
          false,
        )
        await m032.up(db)
        assert.deepEqual(await keys(), after)
      })
    })
  })
}
