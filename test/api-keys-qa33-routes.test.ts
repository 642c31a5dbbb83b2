// API keys over the API, QA 33. Revoking a key (`DELETE /api/apikeys/{id}`) reads that key's row
// only, never every key, and answers as before, a malformed id included (404 or 400, never a 500:
// a NUL reaches no query). Making keys (`POST /api/apikeys`) is limited to 30 a minute per client
// network: the 31st is 429 `RATE_LIMITED` with Retry-After and makes nothing, the 30 made work,
// another network is not held back; with Redis the nodes of a deployment share the count. Bad
// input the neighbours left out: a blank or multi-line name, a leap second as the expiry.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import {
  ADMIN_KEY,
  buildTestApp,
  createCampaign,
  DIALECTS,
  json,
  REDIS_URL,
  type TestContext,
  userToken,
} from './helper.js'

/** A client network of its own (a /64 of the documentation range), so no other suite's count is ours. */
const network = () => `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`

const CREATES_PER_MINUTE = 30

/**
 * `POST /api/apikeys` from the address `ip` (TRUST_PROXY is on in tests), as the configured admin
 * key unless `auth` says otherwise.
 */
function create(
  app: FastifyInstance,
  body: unknown,
  ip: string,
  auth: Record<string, string> = { 'x-api-key': ADMIN_KEY },
) {
  return app.inject({
    method: 'POST',
    url: '/api/apikeys',
    headers: { ...auth, 'x-forwarded-for': ip },
    payload: body as Record<string, unknown>,
  })
}

function revoke(app: FastifyInstance, id: string) {
  return app.inject({ method: 'DELETE', url: `/api/apikeys/${id}`, headers: { 'x-api-key': ADMIN_KEY } })
}

async function statusOf(app: FastifyInstance, id: string): Promise<string | undefined> {
  const res = await app.inject({ method: 'GET', url: '/api/apikeys', headers: { 'x-api-key': ADMIN_KEY } })
  return json(res).keys.find((k: { id: string }) => k.id === id)?.status
}

for (const dialect of DIALECTS) {
  describe(`API keys QA 33: one key read, creations limited, bad input (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance

    before(async () => {
      ctx = await buildTestApp({ dialect })
      app = ctx.app
    })
    after(() => ctx.close())

    it('get(id) reads one key: its record, or undefined for an unknown or unstorable id', async () => {
      const made = await app.platform.apiKeys.create({ name: 'one', role: 'editor', campaigns: ['a_b'] })
      const found = await app.platform.apiKeys.get(made.id)
      assert.ok(found)
      assert.equal(found.id, made.id)
      assert.equal(found.name, 'one')
      assert.equal(found.role, 'editor')
      assert.deepEqual(found.campaigns, ['a_b'])
      assert.equal(found.revoked_at, null)
      assert.equal(new Date(found.created_at).getTime(), new Date(made.created_at).getTime())
      assert.equal('key' in found || 'key_hash' in found, false, 'never the key nor its hash')
      for (const id of ['', 'nosuchkey', made.id.toUpperCase(), `${made.id}\u0000`, "' or 1=1 --"])
        assert.equal(await app.platform.apiKeys.get(id), undefined, JSON.stringify(id))
      await app.platform.apiKeys.revoke(made.id)
      assert.ok((await app.platform.apiKeys.get(made.id))?.revoked_at, 'a revoked key has its revocation')
    })

    it('DELETE reads the one key, never the list, and answers as before', async () => {
      const made = await app.platform.apiKeys.create({ name: 'to revoke', role: 'admin' })
      const configured = (await app.platform.apiKeys.list()).find((k) => k.name === 'OVASABI_ADMIN_KEY')!
      const service = app.platform.apiKeys
      const list = service.list
      let listed = 0
      service.list = () => {
        listed++
        return list.call(service)
      }
      try {
        const first = await revoke(app, made.id)
        assert.equal(first.statusCode, 200, first.body)
        assert.equal(json(first).id, made.id)
        assert.equal(json(first).status, 'revoked')
        const stored = (await app.platform.apiKeys.get(made.id))!.revoked_at!
        assert.equal(json(first).revoked_at, new Date(stored).toISOString(), 'the stored revocation')
        const again = await revoke(app, made.id)
        assert.equal(again.statusCode, 200, again.body)
        assert.equal(json(again).revoked_at, json(first).revoked_at, 'the first revocation stands')
        const refused = await revoke(app, configured.id)
        assert.equal(refused.statusCode, 409, refused.body)
        assert.equal(json(refused).error.code, 'CONFIGURED_API_KEY')
        const unknown = await revoke(app, 'nosuchkey')
        assert.equal(unknown.statusCode, 404, unknown.body)
        assert.equal(json(unknown).error.code, 'API_KEY_NOT_FOUND')
        assert.equal(listed, 0, 'no revocation read every key')
      } finally {
        service.list = list
      }
    })

    it('a malformed id is 404 API_KEY_NOT_FOUND, or 400 when the URL or its length is; never a 500', async () => {
      const bystander = await app.platform.apiKeys.create({ name: 'bystander', role: 'editor' })
      const cases: Array<[string, number, string]> = [
        ['%00', 404, 'API_KEY_NOT_FOUND'],
        [`${bystander.id}%00`, 404, 'API_KEY_NOT_FOUND'],
        [bystander.id.toUpperCase(), 404, 'API_KEY_NOT_FOUND'],
        ['x'.repeat(64), 404, 'API_KEY_NOT_FOUND'],
        ["'%20or%201=1--", 404, 'API_KEY_NOT_FOUND'],
        ['%25', 404, 'API_KEY_NOT_FOUND'],
        ['..%2F..', 404, 'API_KEY_NOT_FOUND'],
        ['a%0Ab', 404, 'API_KEY_NOT_FOUND'],
        ['%E2%80%AE', 404, 'API_KEY_NOT_FOUND'],
        ['%D0%BA%D0%BB%D1%8E%D1%87', 404, 'API_KEY_NOT_FOUND'],
        ['x'.repeat(65), 400, 'VALIDATION_FAILED'],
        ['%ZZ', 400, 'INVALID_URL'],
        ['%C0%80', 400, 'INVALID_URL'],
        ['%FF', 400, 'INVALID_URL'],
      ]
      for (const [id, status, code] of cases) {
        const res = await revoke(app, id)
        assert.equal(res.statusCode, status, `${id}: ${res.body}`)
        assert.equal(json(res).error.code, code, id)
      }
      assert.equal(await statusOf(app, bystander.id), 'active', 'nothing was revoked')
    })

    it(`the ${CREATES_PER_MINUTE + 1}st creation in a minute from one network is 429 with Retry-After; the keys made before work`, async () => {
      const slug = await createCampaign(app)
      const ip = `${network()}::7`
      const made: Array<{ id: string; key: string }> = []
      for (let i = 0; i < CREATES_PER_MINUTE; i++) {
        const res = await create(app, { name: `burst ${i}`, role: 'editor' }, ip)
        assert.equal(res.statusCode, 201, `creation ${i + 1}: ${res.body}`)
        made.push(json(res))
      }
      const limited = await create(app, { name: 'one too many', role: 'editor' }, ip)
      assert.equal(limited.statusCode, 429, limited.body)
      const body = json(limited)
      assert.equal(body.status, 'error')
      assert.equal(body.error.code, 'RATE_LIMITED')
      assert.match(body.error.message, /Too many requests; retry in \d+ s/)
      assert.equal(body.request_id, limited.headers['x-request-id'])
      const retryAfter = Number(limited.headers['retry-after'])
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${limited.headers['retry-after']}`)

      // Another address of the same /64 is the same client; an admin person there too.
      const sameNetwork = await create(app, { name: 'same network', role: 'editor' }, `${ip}1`, {
        authorization: `Bearer ${await userToken(app, 'usr_qa33_admin', ['admin'])}`,
      })
      assert.equal(sameNetwork.statusCode, 429, sameNetwork.body)

      const keys = (await app.platform.apiKeys.list()).map((k) => k.name)
      assert.ok(!keys.includes('one too many') && !keys.includes('same network'), 'a refusal makes nothing')
      for (const { id, key } of made) {
        const res = await app.inject({
          method: 'GET',
          url: `/api/campaign/${slug}`,
          headers: { 'x-api-key': key },
        })
        assert.equal(res.statusCode, 200, `key ${id}: ${res.body}`)
      }

      const elsewhere = await create(app, { name: 'another network', role: 'editor' }, `${network()}::7`)
      assert.equal(elsewhere.statusCode, 201, `another client network has its own count: ${elsewhere.body}`)
    })

    it('a name that shows nothing or holds a line break, control or bidi override is 400 naming it', async () => {
      const ip = `${network()}::1`
      for (const name of [
        '   ',
        '\u200b',
        'deploy\nadmin',
        'tab\there',
        'evil\u202egnp.exe',
        'esc\u001b[31m',
      ]) {
        const res = await create(app, { name, role: 'editor' }, ip)
        assert.equal(res.statusCode, 400, `${JSON.stringify(name)}: ${res.body}`)
        const { error } = json(res)
        assert.equal(error.code, 'VALIDATION_FAILED')
        assert.equal(error.details[0].path, '/name', res.body)
        assert.match(error.details[0].message, /must show something, on one line/)
      }
      for (const name of [' ci deploys ', 'Agence Zoé — été', '配信キー', 'ok 👍']) {
        const res = await create(app, { name, role: 'editor' }, ip)
        assert.equal(res.statusCode, 201, `${JSON.stringify(name)}: ${res.body}`)
        assert.equal(json(res).name, name)
      }
    })

    it('a leap second as expires_at is 400 saying so, not "in the past"; duplicates in campaigns count once', async () => {
      const ip = `${network()}::2`
      const leap = await create(app, { name: 'leap', role: 'editor', expires_at: '2030-06-30T23:59:60Z' }, ip)
      assert.equal(leap.statusCode, 400, leap.body)
      assert.equal(json(leap).error.code, 'VALIDATION_FAILED')
      assert.equal(json(leap).error.details[0].field, 'expires_at')
      assert.match(json(leap).error.message, /leap second/)
      assert.doesNotMatch(json(leap).error.message, /future/)

      const slug = await createCampaign(app)
      const twice = await create(app, { name: 'twice', role: 'editor', campaigns: [slug, slug, slug] }, ip)
      assert.equal(twice.statusCode, 201, twice.body)
      assert.deepEqual(json(twice).campaigns, [slug])

      // As many unknown campaigns as the schema allows: one 404 naming them all, no 500.
      const gone = Array.from({ length: 50 }, (_, i) => `qa33_gone_${i}`)
      const unknown = await create(app, { name: 'unknown', role: 'editor', campaigns: gone }, ip)
      assert.equal(unknown.statusCode, 404, unknown.body)
      assert.equal(json(unknown).error.code, 'CAMPAIGN_NOT_FOUND')
      for (const s of gone) assert.match(json(unknown).error.message, new RegExp(`\\b${s}\\b`))

      for (const [extra, path] of [
        [{ id: 'chosen' }, '/id'],
        [{ revoked_at: null }, '/revoked_at'],
        [{ key_hash: 'x' }, '/key_hash'],
      ] as const) {
        const res = await create(app, { name: 'extra', role: 'editor', ...extra }, ip)
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(json(res).error.details[0].path, path, res.body)
      }
      const names = (await app.platform.apiKeys.list()).map((k) => k.name)
      assert.ok(!['leap', 'unknown', 'extra'].some((n) => names.includes(n)), 'nothing refused was made')
    })
  })
}

describe('API keys QA 33: two nodes with Redis share the creation limit', { skip: !REDIS_URL }, () => {
  let first: TestContext
  let second: TestContext

  before(async () => {
    const env = { REDIS_PREFIX: `qa33_${randomBytes(4).toString('hex')}` }
    first = await buildTestApp({ dialect: DIALECTS.at(-1), redis: true, env })
    second = await buildTestApp({
      dialect: DIALECTS.at(-1),
      redis: true,
      env,
      ...(first.databaseUrl ? { databaseUrl: first.databaseUrl } : {}),
    })
  })
  after(async () => {
    await second?.close()
    await first?.close()
  })

  it(`${CREATES_PER_MINUTE} creations across both nodes, then either node says 429`, async () => {
    const ip = `${network()}::9`
    for (let i = 0; i < CREATES_PER_MINUTE; i++) {
      const res = await create(
        i % 2 === 0 ? first.app : second.app,
        { name: `split ${i}`, role: 'editor' },
        ip,
      )
      assert.equal(res.statusCode, 201, `creation ${i + 1}: ${res.body}`)
    }
    for (const node of [first, second]) {
      const res = await create(node.app, { name: 'one too many', role: 'editor' }, ip)
      assert.equal(res.statusCode, 429, res.body)
      assert.equal(json(res).error.code, 'RATE_LIMITED')
      assert.ok(Number(res.headers['retry-after']) >= 1)
    }
  })
})
