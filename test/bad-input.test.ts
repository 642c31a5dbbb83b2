import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'

for (const dialect of DIALECTS) {
  describe(`bad input is refused with a clear code and changes nothing (${dialect})`, () => {
    let t: TestContext
    let slug: string
    let auth: { authorization: string }
    let sessionId: string

    before(async () => {
      t = await buildTestApp({ dialect })
      slug = await createCampaign(t.app)
      const s = await guestToken(t.app)
      sessionId = s.session_id
      auth = { authorization: `Bearer ${s.token}` }
    })
    after(() => t.close())

    const post = (payload: unknown, headers: Record<string, string> = {}, campaign = slug) =>
      t.app.inject({
        method: 'POST',
        url: `/api/${campaign}/update`,
        headers: { ...auth, 'content-type': 'application/json', ...headers },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      })

    async function eventCount(): Promise<number> {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/stats`,
        headers: adminHeaders,
      })
      return json(res).events_total
    }

    const cases: Array<[string, () => Promise<import('fastify').LightMyRequestResponse>, number, string]> = [
      ['malformed JSON', () => post('{"action": "content.create",'), 400, 'INVALID_JSON'],
      ['empty body', () => post(''), 400, 'INVALID_JSON'],
      ['a JSON array', () => post([1, 2]), 400, 'VALIDATION_FAILED'],
      ['a missing action', () => post({ data: {} }), 400, 'VALIDATION_FAILED'],
      ['a wrong type', () => post({ action: 42 }), 400, 'VALIDATION_FAILED'],
      ['an unknown field', () => post({ action: 'content.create', extra: 1 }), 400, 'VALIDATION_FAILED'],
      ['a malformed envelope', () => post({ type: 'campaign_event', payload: {} }), 400, 'VALIDATION_FAILED'],
      ['an unknown action', () => post({ action: 'launch_rockets' }), 400, 'UNKNOWN_ACTION'],
      [
        'deep nesting',
        () => post(`{"action":"content.create","data":${'['.repeat(200)}${']'.repeat(200)}}`),
        400,
        'JSON_TOO_DEEP',
      ],
      [
        'a body over the limit',
        () => post({ action: 'content.create', data: { blob: 'x'.repeat(1024 * 1024 + 10) } }),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'a wrong content type',
        () => post('action=content.create', { 'content-type': 'text/plain' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'an unknown campaign',
        () => post({ action: 'content.create' }, {}, 'no_such_campaign'),
        404,
        'CAMPAIGN_NOT_FOUND',
      ],
      [
        'another user in the seed form',
        () => post({ user_id: 'user_123', action: 'content.create' }),
        403,
        'USER_MISMATCH',
      ],
      [
        'another user in the envelope',
        () => post({ type: 'campaign_event', event: 'content.create', user: { user_id: 'admin' } }),
        403,
        'USER_MISMATCH',
      ],
      [
        'another session in the envelope',
        () =>
          post({
            type: 'campaign_event',
            event: 'content.create',
            user: { user_id: 'guest', session_id: 'sess_x' },
          }),
        403,
        'USER_MISMATCH',
      ],
      [
        'a campaign_id that is not the path',
        () => post({ type: 'campaign_event', event: 'content.create', campaign_id: 'other' }),
        400,
        'CAMPAIGN_MISMATCH',
      ],
      [
        'a NUL character in a string (PostgreSQL cannot store one)',
        () => post('{"action":"content.create","data":{"title":"a\\u0000b"}}'),
        400,
        'INVALID_CHARACTER',
      ],
      [
        'half a surrogate pair in a string (PostgreSQL cannot store one in jsonb)',
        () => post('{"action":"content.create","data":{"title":"a\\ud800b"}}'),
        400,
        'INVALID_CHARACTER',
      ],
      [
        'half a surrogate pair in a key',
        () => post('{"action":"content.create","metadata":{"k\\udc00":1}}'),
        400,
        'INVALID_CHARACTER',
      ],
      [
        'a NUL character in a registration',
        () =>
          t.app.inject({
            method: 'POST',
            url: '/api/user/register',
            headers: { 'content-type': 'application/json' },
            payload: `{"campaign":"${slug}","email":"a\\u0000b@example.com","name":"N"}`,
          }),
        400,
        'INVALID_CHARACTER',
      ],
      [
        'a NUL character in a query string',
        () =>
          t.app.inject({
            method: 'GET',
            url: `/api/campaign/${slug}/leads?q=a%00b`,
            headers: adminHeaders,
          }),
        400,
        'INVALID_CHARACTER',
      ],
      [
        'a payload that fails its schema',
        () => post({ action: 'content.create', data: 'x', metadata: [] }),
        400,
        'VALIDATION_FAILED',
      ],
    ]

    for (const [name, send, status, code] of cases) {
      it(`refuses ${name} with ${status} ${code}`, async () => {
        const before = await eventCount()
        const res = await send()
        assert.equal(res.statusCode, status, res.body)
        const body = json(res)
        assert.equal(body.status, 'error')
        assert.equal(body.error.code, code)
        assert.ok(body.request_id)
        assert.doesNotMatch(res.body, /at .*\.(ts|js):\d+/, 'no stack trace')
        assert.equal(await eventCount(), before, 'nothing recorded')
      })
    }

    it('accepts the same user explicitly named', async () => {
      const res = await post({
        type: 'campaign_event',
        event: 'content.create',
        user: { user_id: 'guest', session_id: sessionId },
      })
      assert.equal(res.statusCode, 200, res.body)
    })

    describe('tokens', () => {
      const tryToken = (token: string) =>
        t.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers: { authorization: `Bearer ${token}` },
          payload: { action: 'content.create' },
        })

      it('refuses a missing token with 401', async () => {
        const res = await t.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          payload: { action: 'content.create' },
        })
        assert.equal(res.statusCode, 401)
        assert.equal(json(res).error.code, 'UNAUTHORIZED')
      })

      it('refuses a forged signature', async () => {
        const forged = await new SignJWT({ user_id: 'guest', sid: 's', roles: ['admin'], kind: 'session' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('ovasabi')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode('not-the-server-secret-not-the-server-secret'))
        const res = await tryToken(forged)
        assert.equal(res.statusCode, 401)
        assert.equal(json(res).error.code, 'INVALID_TOKEN')
      })

      it('refuses alg:none', async () => {
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')
        const payload = Buffer.from(
          JSON.stringify({ user_id: 'guest', sid: 's', roles: ['admin'], iss: 'ovasabi', exp: 9999999999 }),
        ).toString('base64url')
        const res = await tryToken(`${header}.${payload}.`)
        assert.equal(res.statusCode, 401)
      })

      it('refuses an expired token with TOKEN_EXPIRED', async () => {
        const expired = await new SignJWT({ user_id: 'guest', sid: 's', roles: ['guest'], kind: 'session' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('ovasabi')
          .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
          .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
          .sign(new TextEncoder().encode(t.config.JWT_SECRET))
        const res = await tryToken(expired)
        assert.equal(res.statusCode, 401)
        assert.equal(json(res).error.code, 'TOKEN_EXPIRED')
      })

      it('refuses a token without exp, which would never expire', async () => {
        const forever = await new SignJWT({ user_id: 'guest', sid: 's', roles: ['guest'], kind: 'session' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('ovasabi')
          .setIssuedAt()
          .sign(new TextEncoder().encode(t.config.JWT_SECRET))
        const res = await tryToken(forever)
        assert.equal(res.statusCode, 401, res.body)
        assert.equal(json(res).error.code, 'INVALID_TOKEN')
      })

      it('refuses garbage and a malformed Authorization header', async () => {
        assert.equal((await tryToken('abc.def')).statusCode, 401)
        const res = await t.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers: { authorization: 'Basic dXNlcjpwYXNz' },
          payload: { action: 'content.create' },
        })
        assert.equal(res.statusCode, 401)
      })

      it('refuses an unknown API key', async () => {
        const res = await t.app.inject({
          method: 'GET',
          url: '/api/campaign',
          headers: { 'x-api-key': 'ovs_nope_nope' },
        })
        assert.equal(res.statusCode, 401)
        assert.equal(json(res).error.code, 'INVALID_API_KEY')
      })
    })

    describe('roles', () => {
      it('refuses a guest on admin and editor routes with 403', async () => {
        for (const [method, url] of [
          ['GET', '/api/campaign'],
          ['POST', '/api/campaign'],
          ['PATCH', `/api/campaign/${slug}`],
          ['DELETE', `/api/campaign/${slug}`],
          ['GET', `/api/campaign/${slug}/stats`],
          ['GET', '/api/amadeus/graph'],
        ] as const) {
          const res = await t.app.inject({
            method,
            url,
            headers: auth,
            payload: method === 'GET' ? undefined : { title: 'x' },
          })
          assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`)
          assert.equal(json(res).error.code, 'FORBIDDEN')
        }
      })

      it('refuses a participant token on admin routes', async () => {
        const { token } = await t.app.platform.tokens.issueUser({ userId: 'u_1', roles: ['participant'] })
        const res = await t.app.inject({
          method: 'GET',
          url: '/api/campaign',
          headers: { authorization: `Bearer ${token}` },
        })
        assert.equal(res.statusCode, 403)
      })

      it('refuses an editor archiving (admin only)', async () => {
        const { key } = await t.app.platform.apiKeys.create({ name: 'ed', role: 'editor' })
        const res = await t.app.inject({
          method: 'DELETE',
          url: `/api/campaign/${slug}`,
          headers: { 'x-api-key': key },
        })
        assert.equal(res.statusCode, 403)
        const list = await t.app.inject({
          method: 'GET',
          url: '/api/campaign',
          headers: { 'x-api-key': key },
        })
        assert.equal(list.statusCode, 200)
      })
    })

    describe('campaign rules', () => {
      it('refuses an action whose feature the campaign lacks with 403 FEATURE_DISABLED', async () => {
        const bare = await createCampaign(t.app, { features: ['presence'] })
        const res = await post({ action: 'content.create' }, {}, bare)
        assert.equal(res.statusCode, 403)
        assert.equal(json(res).error.code, 'FEATURE_DISABLED')
      })

      it('refuses draft, scheduled, ended and archived campaigns with 409 CAMPAIGN_NOT_ACTIVE', async () => {
        const hour = 3600_000
        const draft = await createCampaign(t.app, { draft: true })
        const scheduled = await createCampaign(t.app, {
          metadata: { scheduling: { start: new Date(Date.now() + hour).toISOString() } },
        })
        const ended = await createCampaign(t.app, {
          metadata: {
            scheduling: {
              start: new Date(Date.now() - 2 * hour).toISOString(),
              end: new Date(Date.now() - hour).toISOString(),
            },
          },
        })
        const archived = await createCampaign(t.app)
        await t.app.inject({ method: 'DELETE', url: `/api/campaign/${archived}`, headers: adminHeaders })
        for (const [campaign, status] of [
          [draft, 'draft'],
          [scheduled, 'scheduled'],
          [ended, 'ended'],
          [archived, 'archived'],
        ]) {
          const res = await post({ action: 'content.create' }, {}, campaign)
          assert.equal(res.statusCode, 409, `${status}: ${res.body}`)
          assert.equal(json(res).error.code, 'CAMPAIGN_NOT_ACTIVE')
          assert.equal(json(res).error.details.status, status)
        }
      })
    })
  })
}

describe('the global rate limit', () => {
  let t: TestContext
  before(async () => {
    t = await buildTestApp({ env: { RATE_LIMIT_PER_MINUTE: '2' } })
  })
  after(() => t.close())

  it('answers 429 RATE_LIMITED with a message and Retry-After', async () => {
    const get = () =>
      t.app.inject({
        method: 'GET',
        url: '/api/campaign',
        headers: { ...adminHeaders, 'x-forwarded-for': '198.51.100.7' },
      })
    await get()
    await get()
    const res = await get()
    assert.equal(res.statusCode, 429, res.body)
    const body = json(res)
    assert.equal(body.status, 'error')
    assert.equal(body.error.code, 'RATE_LIMITED')
    assert.match(body.error.message, /Too many requests/)
    assert.equal(body.request_id, res.headers['x-request-id'])
    assert.ok(Number(res.headers['retry-after']) >= 1)
  })

  it('counts an IPv6 client by its /64, and an IPv4-mapped address as that IPv4 address', async () => {
    const get = (ip: string) =>
      t.app.inject({
        method: 'GET',
        url: '/api/campaign',
        headers: { ...adminHeaders, 'x-forwarded-for': ip },
      })
    // Each from another address of one /64, as its holder may send them.
    const statuses = []
    for (const ip of ['2001:db8:7:1::1', '2001:db8:7:1::2', '2001:db8:7:1:ffff:ffff:ffff:ffff'])
      statuses.push((await get(ip)).statusCode)
    assert.deepEqual(statuses, [200, 200, 429])
    assert.equal((await get('2001:db8:7:2::1')).statusCode, 200, 'another /64 is another client')

    const mapped = []
    for (const ip of ['198.51.100.8', '::ffff:198.51.100.8', '198.51.100.8'])
      mapped.push((await get(ip)).statusCode)
    assert.deepEqual(mapped, [200, 200, 429])
  })
})
