// Second QA pass on CRM webhooks: every rotated-out secret still in its grace period signs (not
// only the last one), bounded; and endpoints stored with `user:password@` in their URL before
// registration refused them (migration 025) never show or send those credentials.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { type Kysely, sql } from 'kysely'
import { createSecretBox } from '../src/modules/notification/secret-box.js'
import { newWebhookSecret } from '../src/modules/notification/signing.js'
import { MAX_PREVIOUS_SECRETS } from '../src/modules/notification/webhook.service.js'
import { createDatabase } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import * as m025 from '../src/platform/db/migrations/025_webhook_previous_secrets.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  freshPostgres,
  guestToken,
  JWT_SECRET,
  json,
  type TestContext,
  uniqueSlug,
  withDatabase,
} from './helper.js'
import { migrateBefore } from './migrate-before.js'
import {
  FAST_WEBHOOKS,
  receiver,
  submitLead,
  verifies,
  waitFor,
  webhookApp,
  webhookMessages,
} from './webhook-fixtures.js'

const FAST = FAST_WEBHOOKS

/** The schema a database had before this change (migration 025). */
const migrateBefore025 = (db: Kysely<any>) => migrateBefore(db, '025')

/** An endpoint row as an older version wrote it, with `deliveries` status codes logged for it (oldest first). */
async function seedEndpoint(
  db: Kysely<any>,
  row: { id: string; slug: string; url: string; sealed: string; previous?: { sealed: string; until: Date } },
  deliveries: Array<number | null> = [],
) {
  await db
    .insertInto('service_notification_webhook')
    .values({
      id: row.id,
      campaign_slug: row.slug,
      url: row.url,
      events: JSON.stringify(['*']),
      secret_sealed: row.sealed,
      previous_secret_sealed: row.previous?.sealed ?? null,
      previous_secret_expires_at: row.previous?.until ?? null,
      created_by: 'test',
    })
    .execute()
  for (const [i, status] of deliveries.entries()) {
    const outbox = await db
      .insertInto('service_notification_outbox')
      .values({
        message_id: `msg_${row.id}_${i}`,
        webhook_id: row.id,
        campaign_slug: row.slug,
        event: 'webhook.test',
        payload: JSON.stringify({ type: 'webhook.test' }),
        status: status !== null && status < 300 ? 'delivered' : 'failed',
        attempts: 1,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    await db
      .insertInto('service_notification_delivery')
      .values({ outbox_id: outbox.id, webhook_id: row.id, attempt: 1, status_code: status, duration_ms: 1 })
      .execute()
  }
}

const box = createSecretBox(JWT_SECRET)

for (const dialect of DIALECTS) {
  describe(`migration 025 on stored endpoints (${dialect})`, () => {
    it('removes credentials from stored URLs, disables the endpoints whose receiver refused, keeps previous secrets', async () => {
      await withDatabase(dialect, async (database) => {
        const db = database.db as Kysely<any>
        await migrateBefore025(db)
        const until = new Date(Date.now() + 3600_000)
        const previous = box.seal(newWebhookSecret())
        await seedEndpoint(db, {
          id: 'wh_grace',
          slug: 's',
          url: 'https://crm.example/hook',
          sealed: box.seal(newWebhookSecret()),
          previous: { sealed: previous, until },
        })
        // Its receiver refused the last attempt: it wanted the credentials, which were never sent.
        await seedEndpoint(
          db,
          { id: 'wh_refused', slug: 's', url: 'https://admin:hunter2@crm.example/a?x=1', sealed: 's1' },
          [204, 401],
        )
        await seedEndpoint(
          db,
          { id: 'wh_forbidden', slug: 's', url: 'https://admin:hunter2@crm.example/f', sealed: 's1' },
          [403],
        )
        // Its receiver took the requests without them: it goes on as it was.
        await seedEndpoint(
          db,
          { id: 'wh_working', slug: 's', url: 'http://user@crm.example:8080/b#frag', sealed: 's2' },
          [500, 204],
        )
        await seedEndpoint(db, {
          id: 'wh_new',
          slug: 's',
          url: 'https://:p%40ss@crm.example/c',
          sealed: 's3',
        })
        await seedEndpoint(db, { id: 'wh_at_path', slug: 's', url: 'https://crm.example/x@y', sealed: 's4' })

        // 025 first, and whatever later migrations there are after it.
        assert.equal((await migrateToLatest(db))[0], '025_webhook_previous_secrets')
        const rows = await db
          .selectFrom('service_notification_webhook')
          .select([
            'id',
            'url',
            'enabled',
            'disabled_reason',
            'previous_secret_sealed',
            'previous_secret_expires_at',
            'older_secrets',
          ])
          .orderBy('id')
          .execute()
        const byId = Object.fromEntries(rows.map((r) => [r.id, r]))
        assert.equal(byId.wh_refused.url, 'https://crm.example/a?x=1')
        assert.equal(byId.wh_forbidden.url, 'https://crm.example/f')
        assert.equal(byId.wh_working.url, 'http://crm.example:8080/b#frag')
        assert.equal(byId.wh_new.url, 'https://crm.example/c')
        assert.equal(byId.wh_at_path.url, 'https://crm.example/x@y', 'an @ in the path is no credential')
        assert.equal(
          JSON.stringify(rows).includes('hunter2') || JSON.stringify(rows).includes('p%40ss'),
          false,
        )
        for (const id of ['wh_refused', 'wh_forbidden']) {
          assert.equal(byId[id].enabled, false, id)
          assert.match(byId[id].disabled_reason, /credentials.*removed.*webhook-signature/, id)
        }
        for (const id of ['wh_working', 'wh_new', 'wh_at_path', 'wh_grace']) {
          assert.equal(byId[id].enabled, true, id)
          assert.equal(byId[id].disabled_reason, null, id)
        }
        // The secret in its grace period stays where it was, sealed, with its end; none older yet.
        assert.equal(byId.wh_grace.previous_secret_sealed, previous)
        assert.equal(new Date(byId.wh_grace.previous_secret_expires_at).getTime(), until.getTime())
        for (const r of rows) assert.deepEqual(r.older_secrets, [], r.id)
        // And back down: the column goes, the rest stays.
        await m025.down(db)
        const left = await sql<{ n: number }>`
          select count(*)::int as n from information_schema.columns
          where table_name = 'service_notification_webhook' and column_name = 'older_secrets'
        `.execute(db)
        assert.equal(left.rows[0]!.n, 0)
      })
    })
  })
}

if (DIALECTS.includes('postgres')) {
  describe('an endpoint stored with credentials, after the upgrade (postgres)', () => {
    it('lists without them and goes on delivering, signed, with no Authorization', async () => {
      const fresh = await freshPostgres()
      const authorization: Array<string | undefined> = []
      const r = await receiver((_n, req) => {
        authorization.push(req.headers.authorization)
      })
      let ctx: TestContext | undefined
      try {
        const slug = uniqueSlug()
        const secret = newWebhookSecret()
        const old = newWebhookSecret()
        const seeded = await createDatabase(
          { DATA_DIR: '/nonexistent', DATABASE_URL: fresh.url, DATABASE_POOL_SIZE: 2 },
          { memory: true },
        )
        try {
          const db = seeded.db as Kysely<any>
          await migrateBefore025(db)
          const withCredentials = new URL(r.url)
          withCredentials.username = 'crm'
          withCredentials.password = 'hunter2'
          await seedEndpoint(
            db,
            {
              id: 'wh_legacy',
              slug,
              url: withCredentials.href,
              sealed: box.seal(secret),
              previous: { sealed: box.seal(old), until: new Date(Date.now() + 3600_000) },
            },
            [204],
          )
        } finally {
          await seeded.close()
        }
        ctx = await buildTestApp({ dialect: 'postgres', databaseUrl: fresh.url, env: FAST })
        await createCampaign(ctx.app, { slug })
        r.setSecret(secret)
        const list = await ctx.app.inject({
          method: 'GET',
          url: `/api/campaign/${slug}/webhooks`,
          headers: adminHeaders,
        })
        assert.equal(list.statusCode, 200, list.body)
        assert.equal(list.body.includes('hunter2'), false, list.body)
        assert.equal(json(list).webhooks[0].url, r.url)
        assert.equal(json(list).webhooks[0].enabled, true)
        // The secret in its grace period before the upgrade still signs, and so does a newer one.
        assert.equal(json(list).webhooks[0].previous_secrets.length, 1)
        const guest = await guestToken(ctx.app)
        assert.equal((await submitLead(ctx.app, guest.token, slug, 'legacy@example.com')).statusCode, 200)
        const got = await waitFor(() => r.got[0], 'the delivery after the upgrade')
        assert.equal(got.verified, true)
        const raw = JSON.stringify(got.body)
        assert.equal(verifies(old, got.id, String(got.timestamp), raw, got.signature), true)
        assert.equal(authorization[0], undefined, 'the credentials are not sent')
      } finally {
        await ctx?.close()
        await r.close()
        await fresh.drop()
      }
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`webhook secret rotations and stored URLs (${dialect})`, () => {
    const suite = webhookApp(dialect, FAST)
    let guest: { token: string }
    before(async () => {
      guest = await guestToken(suite.app)
    })

    async function setup() {
      const authorization: Array<string | undefined> = []
      const endpoint = await suite.endpoint((_n, req) => {
        authorization.push(req.headers.authorization)
      })
      return { ...endpoint, authorization }
    }
    const post = (url: string) => suite.app.inject({ method: 'POST', url, headers: adminHeaders })
    const list = async (slug: string) =>
      json(
        await suite.app.inject({
          method: 'GET',
          url: `/api/campaign/${slug}/webhooks`,
          headers: adminHeaders,
        }),
      ).webhooks as any[]
    /** Sends a test message and returns what the receiver got, checked against every secret given. */
    async function probe(
      slug: string,
      id: string,
      r: Awaited<ReturnType<typeof receiver>>,
      secrets: string[],
    ) {
      const before = r.got.length
      assert.equal((await post(`/api/campaign/${slug}/webhooks/${id}/test`)).statusCode, 202)
      const got = await waitFor(() => r.got[before], 'a test message')
      const raw = JSON.stringify(got.body)
      return {
        got,
        verifiedBy: secrets.map((s) => verifies(s, got.id, String(got.timestamp), raw, got.signature)),
      }
    }

    it('a second rotation inside the grace period keeps the first secret signing', async () => {
      const { slug, r, id, secret: first } = await setup()
      const base = `/api/campaign/${slug}/webhooks/${id}`
      const second = json(await post(`${base}/rotate?grace_seconds=3600`)).secret
      const rotated = json(await post(`${base}/rotate?grace_seconds=600`))
      const third = rotated.secret
      r.setSecret(third)
      const { got, verifiedBy } = await probe(slug, id, r, [first, second, third])
      assert.equal(got.verified, true)
      assert.deepEqual(verifiedBy, [true, true, true], 'receivers on any of the three secrets accept')
      assert.equal(got.signature.split(' ').length, 3)
      // The admin sees both grace periods, newest first, each its own.
      const expires = rotated.webhook.previous_secrets.map((s: any) => Date.parse(s.expires_at))
      assert.equal(expires.length, 2)
      assert.ok(expires[0] <= Date.now() + 600_000 && expires[0] > Date.now() + 500_000, String(expires))
      assert.ok(expires[1] <= Date.now() + 3600_000 && expires[1] > Date.now() + 3500_000, String(expires))
      assert.equal(Date.parse(rotated.webhook.previous_secret_expires_at), expires[0])
      // Stored sealed, as the current secret is: no secret in clear in the row.
      const row = await suite.app.platform.database.db
        .selectFrom('service_notification_webhook')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      const stored = JSON.stringify(row)
      for (const s of [first, second, third]) {
        assert.equal(stored.includes(s.slice(6)), false, 'no secret in clear')
      }
      assert.equal(row.older_secrets.length, 1)
      assert.equal(box.open(row.older_secrets[0]!.sealed), first)
    })

    it(`keeps at most ${MAX_PREVIOUS_SECRETS} previous secrets, dropping the oldest only past that`, async () => {
      const { slug, r, id, secret } = await setup()
      const base = `/api/campaign/${slug}/webhooks/${id}`
      const secrets = [secret]
      for (let i = 0; i < MAX_PREVIOUS_SECRETS; i++) {
        secrets.push(json(await post(`${base}/rotate?grace_seconds=3600`)).secret)
      }
      r.setSecret(secrets.at(-1)!)
      const full = await probe(slug, id, r, secrets)
      assert.deepEqual(
        full.verifiedBy,
        secrets.map(() => true),
      )
      assert.equal(full.got.signature.split(' ').length, MAX_PREVIOUS_SECRETS + 1)
      // One more: the oldest stops, every other one still signs.
      const over = json(await post(`${base}/rotate?grace_seconds=3600`))
      secrets.push(over.secret)
      r.setSecret(over.secret)
      assert.equal(over.webhook.previous_secrets.length, MAX_PREVIOUS_SECRETS)
      const past = await probe(slug, id, r, secrets)
      assert.deepEqual(past.verifiedBy, [false, ...secrets.slice(1).map(() => true)])
      assert.equal(past.got.signature.split(' ').length, MAX_PREVIOUS_SECRETS + 1)
    })

    it('stops each previous secret at the end of its own grace period, and all of them on grace 0', async () => {
      const { slug, r, id, secret: first } = await setup()
      const base = `/api/campaign/${slug}/webhooks/${id}`
      const second = json(await post(`${base}/rotate?grace_seconds=3600`)).secret
      const third = json(await post(`${base}/rotate?grace_seconds=3600`)).secret
      r.setSecret(third)
      // The oldest one's grace period ends (as if the hour went by for it alone).
      const db = suite.app.platform.database.db
      const row = await db
        .selectFrom('service_notification_webhook')
        .select('older_secrets')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      await db
        .updateTable('service_notification_webhook')
        .set({
          older_secrets: JSON.stringify(
            row.older_secrets.map((s) => ({ ...s, expires_at: new Date(Date.now() - 1000).toISOString() })),
          ),
        })
        .where('id', '=', id)
        .execute()
      const ended = await probe(slug, id, r, [first, second, third])
      assert.deepEqual(ended.verifiedBy, [false, true, true])
      assert.equal((await list(slug))[0].previous_secrets.length, 1)
      // A rotation does not bring an ended one back.
      const fourth = json(await post(`${base}/rotate?grace_seconds=3600`)).secret
      r.setSecret(fourth)
      const after = await probe(slug, id, r, [first, second, third, fourth])
      assert.deepEqual(after.verifiedBy, [false, true, true, true])
      // A leaked secret: grace 0 and only the new one signs, whatever was still in grace.
      const cut = json(await post(`${base}/rotate?grace_seconds=0`))
      r.setSecret(cut.secret)
      assert.deepEqual(cut.webhook.previous_secrets, [])
      assert.equal(cut.webhook.previous_secret_expires_at, null)
      const alone = await probe(slug, id, r, [second, third, fourth, cut.secret])
      assert.deepEqual(alone.verifiedBy, [false, false, false, true])
      assert.equal(alone.got.signature.split(' ').length, 1)
    })

    it('two rotations at once each keep the secret the other replaced', async () => {
      const { slug, r, id, secret: first } = await setup()
      const base = `/api/campaign/${slug}/webhooks/${id}`
      const [a, b] = await Promise.all([post(`${base}/rotate`), post(`${base}/rotate`)])
      assert.equal(a.statusCode, 200)
      assert.equal(b.statusCode, 200)
      const current = (await list(slug))[0]
      assert.equal(current.previous_secrets.length, 2)
      // Whichever committed last is current; the first and the other one still sign.
      const secrets = [first, json(a).secret, json(b).secret]
      r.setSecret(secrets[1]!)
      const { verifiedBy } = await probe(slug, id, r, secrets)
      assert.deepEqual(verifiedBy, [true, true, true])
    })

    it('never shows credentials an older node stored in a URL, and never sends them', async () => {
      const { slug, r, id, authorization } = await setup()
      const withCredentials = new URL(r.url)
      withCredentials.username = 'crm'
      withCredentials.password = 'hunter2'
      // As a node from before the refusal writes it during a rolling deploy, past this version's API.
      await suite.app.platform.database.db
        .updateTable('service_notification_webhook')
        .set({ url: withCredentials.href })
        .where('id', '=', id)
        .execute()
      const answers = [
        await suite.app.inject({
          method: 'GET',
          url: `/api/campaign/${slug}/webhooks`,
          headers: adminHeaders,
        }),
        await suite.app.inject({
          method: 'PATCH',
          url: `/api/campaign/${slug}/webhooks/${id}`,
          headers: adminHeaders,
          payload: { description: 'still here' },
        }),
        await post(`/api/campaign/${slug}/webhooks/${id}/enable`),
        await post(`/api/campaign/${slug}/webhooks/${id}/rotate`),
      ]
      for (const res of answers) {
        assert.equal(res.statusCode, 200, res.body)
        assert.equal(res.body.includes('hunter2'), false, res.body)
        assert.equal(res.body.includes('crm@'), false, res.body)
      }
      assert.equal((await list(slug))[0].url, r.url)
      r.setSecret(json(answers[3]!).secret)
      assert.equal((await submitLead(suite.app, guest.token, slug, 'creds@example.com')).statusCode, 200)
      const got = await waitFor(() => r.got[0], 'the delivery')
      assert.equal(got.verified, true)
      assert.equal(authorization[0], undefined)
      const messages = await webhookMessages(suite.app, slug, id)
      assert.equal(JSON.stringify(messages).includes('hunter2'), false)
    })
  })
}
