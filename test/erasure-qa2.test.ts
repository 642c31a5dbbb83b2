import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import { forgetSubjectsQuery } from '../src/nexus/idempotency.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { scrubJoinEvents, up } from '../src/platform/db/migrations/023_join_events_without_pii.js'
import { adminHeaders, createCampaign, DIALECTS, json, suiteApp, withDatabase } from './helper.js'
import { bearer, join, mail } from './people-fixtures.js'

const SECRET_NAME = 'Bob Secretname'

for (const dialect of DIALECTS) {
  describe(`erasure QA 2 (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    const stored = async (requestId: string) =>
      suite.app.platform.database.db
        .selectFrom('service_nexus_request')
        .select(['actor', 'status_code', 'response'])
        .where('request_id', '=', requestId)
        .executeTakeFirstOrThrow()

    /** A join through the action endpoint, sent with `headers`' credential, under `requestId`. */
    const joinAs = (slug: string, headers: Record<string, string>, requestId: string, email: string) =>
      suite.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers,
        payload: { action: 'register', data: { email, name: SECRET_NAME }, request_id: requestId },
      })

    it("erases the stored answer of a join sent with another person's credential or an API key", async () => {
      const slug = await createCampaign(suite.app)
      const ann = await join(suite.app, slug, { name: 'Ann' })
      const tag = randomBytes(4).toString('hex')
      const cases = [
        { via: 'user', headers: bearer(ann.token), requestId: `join-bob-${tag}`, email: mail('bob') },
        { via: 'apikey', headers: adminHeaders, requestId: `join-cat-${tag}`, email: mail('cat') },
      ]
      // Ann's own action under her key: not about the erased people, so it stays.
      const own = await suite.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: bearer(ann.token),
        payload: { action: 'content.create', data: { n: 1 }, request_id: `ann-own-${tag}` },
      })
      assert.equal(own.statusCode, 200, own.body)

      for (const c of cases) {
        const res = await joinAs(slug, c.headers, c.requestId, c.email)
        assert.equal(res.statusCode, 200, res.body)
        const joined = json(res).result
        const before = await stored(c.requestId)
        // Stored under the sender's key, not the joiner's.
        if (c.via === 'user') assert.equal(before.actor, `user:${ann.user.id}`)
        else assert.match(before.actor, /^user:apikey:/)
        assert.match(JSON.stringify(before.response), new RegExp(SECRET_NAME), 'the answer holds the joiner')

        const erased = await suite.app.inject({
          method: 'DELETE',
          url: `/api/user/${joined.user.id}`,
          headers: adminHeaders,
        })
        assert.equal(erased.statusCode, 200, erased.body)

        const row = await stored(c.requestId)
        const text = JSON.stringify(row.response)
        assert.equal(row.status_code, 410, `${c.via}: ${text}`)
        assert.doesNotMatch(text, new RegExp(SECRET_NAME))
        assert.doesNotMatch(text, new RegExp(c.email))
        assert.ok(!text.includes(joined.token), 'no token of the erased person stays')
        // A retry with the key learns of the erasure, and nothing of the person.
        const retry = await joinAs(slug, c.headers, c.requestId, c.email)
        assert.equal(retry.statusCode, 410, retry.body)
        assert.equal(json(retry).error.code, 'ERASED')
        assert.doesNotMatch(retry.body, new RegExp(SECRET_NAME))
      }
      const kept = await stored(`ann-own-${tag}`)
      assert.equal(kept.status_code, 200)
    })

    it("finds the answers about an erased person through the subject's index, not by scanning", {
      skip: dialect !== 'postgres' && "plans are PostgreSQL's",
    }, async () => {
      const db = suite.app.platform.database.db
      const plan = await db.transaction().execute(async (trx) => {
        await sql`set local enable_seqscan = off`.execute(trx)
        const q = forgetSubjectsQuery(trx, ['usr_x', 'usr_y']).compile()
        const rows = await trx.executeQuery<{ 'QUERY PLAN': string }>({ ...q, sql: `explain ${q.sql}` })
        return rows.rows.map((r) => r['QUERY PLAN']).join('\n')
      })
      assert.match(plan, /service_nexus_request_subject/, plan)
      assert.doesNotMatch(plan, /Seq Scan/, plan)
    })
  })

  describe(`migration 023: joins logged with the person (${dialect})`, () => {
    const event = (id: number, name: string, payload: unknown) => ({
      id,
      event_id: `ev_${id}`,
      campaign_slug: 'old_campaign',
      event: name,
      user_id: 'usr_sender',
      session_id: 'sess_sender',
      payload: JSON.stringify(payload),
      metadata: '{}',
      timestamp: new Date(),
      received_at: new Date(),
    })

    it('scrubs the joins logged before, leaves other events alone, and runs again to no effect', async () => {
      await withDatabase(dialect, async (database) => {
        const { db } = database
        // A fresh database: the scrub runs on an empty log.
        const first = await migrateToLatest(db)
        assert.ok(first.includes('023_join_events_without_pii'), first.join())
        assert.equal(await scrubJoinEvents(db), 0)
        // Events as written before user.register redacted the person (only the password).
        await db
          .insertInto('service_analytics_event')
          .values([
            event(3, 'register', {
              email: 'bob@example.com',
              name: 'Bob',
              metadata: { phone: '555' },
              password: '[redacted]',
              referral_code: 'ABC123',
            }),
            event(25_000, 'user.register', { email: 'cat@example.com', name: 'Cat', locale: 'en' }),
            event(25_001, 'content.create', { email: 'not-a-join@example.com', name: 'Kept' }),
            event(60_000, 'quote.submit', { budget: 5, email: '[redacted]' }),
            event(60_001, 'user.register', 'not an object'),
          ])
          .execute()
        // As an upgrade meets it: the migration runs over what was logged before it.
        await up(db)
        const rows = await db
          .selectFrom('service_analytics_event')
          .select(['id', 'payload'])
          .orderBy('id')
          .execute()
        assert.deepEqual(
          rows.map((r) => [Number(r.id), r.payload]),
          [
            [
              3,
              {
                email: '[redacted]',
                name: '[redacted]',
                metadata: '[redacted]',
                password: '[redacted]',
                referral_code: 'ABC123',
              },
            ],
            [25_000, { email: '[redacted]', name: '[redacted]', locale: 'en' }],
            [25_001, { email: 'not-a-join@example.com', name: 'Kept' }],
            [60_000, { budget: 5, email: '[redacted]' }],
            [60_001, 'not an object'],
          ],
        )
        // Again, in small batches over the gaps between ids: nothing left to change.
        assert.equal(await scrubJoinEvents(db, 7), 0)
      })
    })

    it('walks the log in batches: every join is reached, whatever the gaps between ids', async () => {
      await withDatabase(dialect, async (database) => {
        const { db } = database
        await migrateToLatest(db)
        const ids = [1, 2, 9, 10, 11, 500, 501, 10_007]
        await db
          .insertInto('service_analytics_event')
          .values(
            ids.map((id) => event(id, 'user.register', { email: `p${id}@example.com`, name: `P${id}` })),
          )
          .execute()
        assert.equal(await scrubJoinEvents(db, 5), ids.length)
        const left = await db.selectFrom('service_analytics_event').select('payload').execute()
        for (const r of left) assert.deepEqual(r.payload, { email: '[redacted]', name: '[redacted]' })
      })
    })
  })
}
