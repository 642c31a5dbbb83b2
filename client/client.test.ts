import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  ADMIN_KEY,
  buildTestApp,
  createCampaign,
  DIALECTS,
  type TestContext,
  uniqueSlug,
} from '../test/helper.js'
import { createClient, type FetchLike, OvasabiError } from './index.js'
import { failure } from './test-helpers.js'

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/

for (const dialect of DIALECTS) {
  describe(`client SDK over HTTP (${dialect})`, () => {
    let ctx: TestContext
    let baseUrl: string

    before(async () => {
      ctx = await buildTestApp({ dialect })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(() => ctx.close())

    test('createSession stores the guest token and actions carry a generated ULID request_id', async () => {
      const slug = await createCampaign(ctx.app)
      const client = createClient({ baseUrl })
      const session = await client.createSession()
      assert.equal(session.user_id, 'guest')
      assert.equal(client.token, session.token)
      const res = await client.action<{ recorded: boolean; event: string }>(slug, 'content.create', { n: 1 })
      assert.equal(res.status, 'success')
      assert.match(res.request_id, ULID)
      assert.deepEqual(
        { recorded: res.result.recorded, event: res.result.event },
        { recorded: true, event: 'content.create' },
      )
    })

    test('a repeated request_id returns the first answer (idempotent retry)', async () => {
      const slug = await createCampaign(ctx.app)
      const client = createClient({ baseUrl })
      await client.createSession()
      const first = await client.action(slug, 'content.like', { a: 1 }, { requestId: 'retry-me-1' })
      const again = await client.action(slug, 'content.like', { a: 1 }, { requestId: 'retry-me-1' })
      assert.equal(first.request_id, 'retry-me-1')
      assert.deepEqual(again, first)
      // The id of another request is refused, not answered with the first one's success.
      const reused = await client.action(slug, 'content.like', { a: 2 }, { requestId: 'retry-me-1' }).then(
        () => assert.fail('expected IDEMPOTENCY_KEY_REUSED'),
        (e: unknown) => e as { code: string; status: number },
      )
      assert.equal(reused.code, 'IDEMPOTENCY_KEY_REUSED')
      assert.equal(reused.status, 422)
      const stats = await createClient({ baseUrl, apiKey: ADMIN_KEY }).campaigns.stats(slug)
      assert.equal(stats.events['content.like'], 1)
    })

    test('server errors become OvasabiError with code, status, details and requestId', async () => {
      const client = createClient({ baseUrl, apiKey: ADMIN_KEY })
      const err = await client.campaigns.create({ slug: 'Bad Slug!', title: '' }).then(
        () => assert.fail('expected a validation error'),
        (e: unknown) => e,
      )
      assert.ok(err instanceof OvasabiError)
      assert.equal(err.code, 'VALIDATION_FAILED')
      assert.equal(err.status, 400)
      assert.ok(err.requestId)
      const fields = err.fieldErrors()
      assert.ok(fields.slug, `slug issue in ${JSON.stringify(err.details)}`)
      assert.ok(fields.title)
    })

    test('missing routes, disabled features and unknown actions report `unavailable`', async () => {
      const client = createClient({ baseUrl })
      await client.createSession()
      const missing = await failure(client.http.request('GET', '/api/no-such-route'))
      assert.equal(missing.code, 'ROUTE_NOT_FOUND')
      assert.equal(missing.unavailable, true)

      const slug = await createCampaign(ctx.app, { features: ['presence'] })
      const disabled = await failure(client.action(slug, 'content.create'))
      assert.equal(disabled.code, 'FEATURE_DISABLED')
      assert.equal(disabled.status, 403)
      assert.equal(disabled.unavailable, true)

      const notFound = await failure(client.campaigns.get(uniqueSlug('nope')))
      assert.equal(notFound.status, 404)
      assert.equal(notFound.unavailable, false)
    })

    test('campaign management: create, get, update, list, stats, archive', async () => {
      const admin = createClient({ baseUrl, apiKey: ADMIN_KEY })
      const slug = uniqueSlug('sdk')
      const created = await admin.campaigns.create({
        slug,
        title: 'SDK launch',
        metadata: { features: ['analytics'], scheduling: { frequency: 5 } },
      })
      assert.equal(created.slug, slug)
      assert.equal(created.status, 'active')
      const dup = await failure(admin.campaigns.create({ slug, title: 'again' }))
      assert.equal(dup.status, 409)

      const updated = await admin.campaigns.update(slug, { title: 'Renamed', version: created.version })
      assert.equal(updated.title, 'Renamed')
      const stale = await failure(admin.campaigns.update(slug, { title: 'x', version: created.version }))
      assert.equal(stale.status, 409)

      const list = await admin.campaigns.list({ per_page: 200 })
      assert.ok(list.campaigns.some((c) => c.slug === slug))
      const stats = await admin.campaigns.stats(slug)
      assert.equal(stats.campaign, slug)

      const archived = await admin.campaigns.archive(slug)
      assert.equal(archived.status, 'archived')
      const guest = createClient({ baseUrl })
      await guest.createSession()
      const pub = await guest.campaigns.get(slug)
      assert.equal(pub.status, 'archived')
      assert.ok(!('id' in pub), 'guests get the public view')
    })

    test('translation catalog: an admin replaces it, a guest reads it, a guest cannot write it', async () => {
      const admin = createClient({ baseUrl, apiKey: ADMIN_KEY })
      const slug = await createCampaign(ctx.app, { features: ['translation'] })
      const entries = { 'hero.title': { en: 'Live now', es: 'En vivo' } }
      const put = await admin.translation.setCatalog(slug, entries)
      assert.equal(put.keys, 1)
      const guest = createClient({ baseUrl })
      await guest.createSession()
      assert.deepEqual((await guest.translation.catalog(slug)).entries, entries)
      assert.equal((await failure(guest.translation.setCatalog(slug, {}))).status, 403)
    })

    test('an injected fetch receives every call with the credential header', async () => {
      const seen: Array<{ url: string; headers: Record<string, string> }> = []
      const spy: FetchLike = (url, init) => {
        seen.push({ url, headers: (init?.headers ?? {}) as Record<string, string> })
        return fetch(url, init)
      }
      const admin = createClient({ baseUrl, apiKey: ADMIN_KEY, fetch: spy })
      await admin.campaigns.list()
      assert.equal(seen[0]!.url, `${baseUrl}/api/campaign`)
      assert.equal(seen[0]!.headers.authorization, `Bearer ${ADMIN_KEY}`)
      const guest = createClient({ baseUrl, fetch: spy })
      const s = await guest.createSession()
      assert.equal(seen[1]!.headers.authorization, undefined, 'public routes send no credential')
      await guest.health()
      await guest.campaigns.get((await admin.campaigns.list()).campaigns[0]!.slug)
      assert.equal(seen.at(-1)!.headers.authorization, `Bearer ${s.token}`)
    })

    test('webhooks: create, update, rotate, enable and remove an endpoint', async () => {
      const slug = await createCampaign(ctx.app)
      const admin = createClient({ baseUrl, apiKey: ADMIN_KEY })
      // A public address literal: nothing is sent (no lead is submitted), and no DNS is needed.
      const created = await admin.webhooks.create(slug, {
        url: 'https://93.184.215.14/a',
        events: ['lead.created'],
      })
      assert.match(created.secret, /^whsec_/)
      const updated = await admin.webhooks.update(slug, created.id, {
        url: 'https://93.184.215.14/b',
        events: ['lead.created', 'lead.updated'],
      })
      assert.deepEqual(
        [updated.url, updated.events],
        ['https://93.184.215.14/b', ['lead.created', 'lead.updated']],
      )
      const rotated = await admin.webhooks.rotate(slug, created.id, 0)
      assert.notEqual(rotated.secret, created.secret)
      assert.equal(rotated.webhook.previous_secret_expires_at, null, 'grace 0: the old secret stops at once')
      assert.equal((await admin.webhooks.enable(slug, created.id)).enabled, true)
      const bad = await failure(admin.webhooks.update(slug, created.id, {}))
      assert.equal(bad.code, 'VALIDATION_FAILED')
      await admin.webhooks.remove(slug, created.id)
      assert.deepEqual((await admin.webhooks.list(slug)).webhooks, [])
    })

    test('a server that cannot be reached gives NETWORK_ERROR with status 0', async () => {
      const dead = createClient({ baseUrl: 'http://127.0.0.1:9' })
      const err = await failure(dead.health())
      assert.ok(err instanceof OvasabiError)
      assert.equal(err.code, 'NETWORK_ERROR')
      assert.equal(err.status, 0)
    })
  })
}

describe('OvasabiError.fromBody', () => {
  test('understands StreamSource `{error}` bodies and Retry-After', () => {
    const headers = new Headers({ 'retry-after': '7' })
    const e = OvasabiError.fromBody(429, { error: 'Too many requests. Please try again later.' }, headers)
    assert.equal(e.code, 'RATE_LIMITED')
    assert.equal(e.retryAfter, 7)
    assert.equal(e.message, 'Too many requests. Please try again later.')
  })
})

describe('client timeouts', () => {
  test('a server that accepts but never finishes its answer gives TIMEOUT; with no deadline it is awaited', async () => {
    const { createServer } = await import('node:http')
    const held: Array<() => void> = []
    // Sends the headers, then holds the body: the deadline covers the answer, not only the headers.
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"status":')
      held.push(() => res.end('"ok"}'))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    try {
      const err = await failure(createClient({ baseUrl, timeoutMs: 200 }).health())
      assert.equal(err.code, 'TIMEOUT')
      assert.equal(err.status, 0)

      const answered = createClient({ baseUrl, timeoutMs: 0 }).health()
      for (let i = 0; i < 500 && held.length < 2; i++) await new Promise((r) => setTimeout(r, 10))
      held[1]!()
      assert.deepEqual(await answered, { status: 'ok' })
    } finally {
      for (const release of held) release()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
