// A browser sees a refused upgrade only as close code 1006. A plain GET of the same `/ws/…` URL
// (the SDK's probe) is answered with the refusal the upgrade would get, the same status, body and
// Retry-After, or 426 when the upgrade would be admitted; it is no socket and takes no slot.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS } from '../helper.js'
import { metric } from './client.js'
import { realtimeSuite } from './fixtures.js'
import { probeTargets } from './probe-fixtures.js'
import { headerValues, rawUpgrade } from './raw-upgrade.js'

const PARTNER = 'https://partner.example'

interface Answer {
  status: number
  body: { status?: string; error?: { code?: string; message?: string; details?: unknown } }
  retryAfter: string | null
  upgrade: string | null
}

let nextAddress = 0
/** A client address of its own (TRUST_PROXY=true in tests: X-Forwarded-For names it). */
const address = () => ({ 'x-forwarded-for': `198.51.100.${++nextAddress}` })

for (const dialect of DIALECTS) {
  describe(`plain GET of /ws/… answers what the upgrade would (${dialect})`, () => {
    const live = realtimeSuite({
      dialect,
      env: { CORS_ORIGINS: PARTNER, WS_MAX_SOCKETS_PER_IP: '1', WS_MAX_SOCKETS_PER_SESSION: '1' },
    })

    const probe = async (path: string, headers: Record<string, string> = address()): Promise<Answer> => {
      const res = await fetch(`http://127.0.0.1:${live.port}${path}`, { headers })
      return {
        status: res.status,
        body: await res.json(),
        retryAfter: res.headers.get('retry-after'),
        upgrade: res.headers.get('upgrade'),
      }
    }
    const upgrade = async (path: string, headers: Record<string, string> = address()): Promise<Answer> => {
      const raw = await rawUpgrade(live.port, path, headers)
      return {
        status: raw.status,
        body: JSON.parse(raw.body),
        retryAfter: headerValues(raw, 'retry-after')[0] ?? null,
        upgrade: null,
      }
    }
    /** The parts a client reads: status, code, message, details, Retry-After. */
    const seen = (a: Answer) => ({
      status: a.status,
      code: a.body.error?.code,
      message: a.body.error?.message,
      details: a.body.error?.details,
      retryAfter: a.retryAfter,
    })

    it('refuses as the upgrade does: token, user, campaign, slug, since, cookie origin', async () => {
      const { slug, draft, archived, guest, user } = await probeTargets(live, 'probe_user')
      const cases: Array<[string, Record<string, string>, number, string]> = [
        [`/ws/${slug}/guest`, {}, 401, 'UNAUTHORIZED'],
        [`/ws/${slug}/guest?token=not.a.token`, {}, 401, 'INVALID_TOKEN'],
        [`/ws/${slug}/someone_else?token=${guest}`, {}, 403, 'USER_MISMATCH'],
        [
          `/ws/${slug}/probe_user`,
          { cookie: `ovasabi_token=${user}`, origin: 'https://evil.example' },
          403,
          'ORIGIN_NOT_ALLOWED',
        ],
        [`/ws/nowhere_${Date.now()}/guest?token=${guest}`, {}, 404, 'CAMPAIGN_NOT_FOUND'],
        [`/ws/${draft}/guest?token=${guest}`, {}, 409, 'CAMPAIGN_NOT_ACTIVE'],
        [`/ws/${archived}/guest?token=${guest}`, {}, 409, 'CAMPAIGN_NOT_ACTIVE'],
        [`/ws/Not%20A%20Slug/guest?token=${guest}`, {}, 400, 'VALIDATION_FAILED'],
        [`/ws/${slug}/guest?token=${guest}&since=yesterday`, {}, 400, 'VALIDATION_FAILED'],
        // The first token counts, as for the upgrade (the route's schema would refuse two).
        [`/ws/${slug}/guest?token=not.a.token&token=${guest}`, {}, 401, 'INVALID_TOKEN'],
      ]
      for (const [path, headers, status, code] of cases) {
        const byProbe = await probe(path, { ...address(), ...headers })
        const byUpgrade = await upgrade(path, { ...address(), ...headers })
        assert.deepEqual(seen(byProbe), seen(byUpgrade), path)
        assert.deepEqual([byProbe.status, byProbe.body.error?.code], [status, code], path)
        // Nothing beyond the error body the upgrade's refusal has.
        assert.deepEqual(Object.keys(byProbe.body).sort(), ['error', 'request_id', 'status'], path)
        assert.deepEqual(Object.keys(byUpgrade.body).sort(), ['error', 'request_id', 'status'], path)
      }
      const draftAnswer = await probe(`/ws/${draft}/guest?token=${guest}`)
      assert.deepEqual(draftAnswer.body.error?.details, { status: 'draft' })
    })

    it('answers 426 only when the upgrade would be admitted: token by query, Bearer or cookie', async () => {
      const slug = await createCampaign(live.app)
      const guest = await live.guestToken()
      const user = (
        await live.app.platform.tokens.issueUser({ userId: 'probe_cookie', roles: ['participant'] })
      ).token
      const admitted: Array<[string, Record<string, string>]> = [
        [`/ws/${slug}/guest?token=${guest}&since=0`, {}],
        [`/ws/${slug}/guest`, { authorization: `Bearer ${guest}` }],
        [`/ws/${slug}/probe_cookie`, { cookie: `ovasabi_token=${user}` }],
        [`/ws/${slug}/probe_cookie`, { cookie: `ovasabi_token=${user}`, origin: PARTNER }],
        // Bearer outranks the ambient cookie; the query outranks both, as it does on the upgrade.
        [`/ws/${slug}/guest`, { authorization: `Bearer ${guest}`, cookie: `ovasabi_token=${user}` }],
      ]
      for (const [path, headers] of admitted) {
        const answer = await probe(path, { ...address(), ...headers })
        assert.equal(answer.status, 426, `${path} ${JSON.stringify(answer.body)}`)
        assert.equal(answer.body.error?.code, 'UPGRADE_REQUIRED')
        assert.equal(answer.upgrade, 'websocket')
      }
      // Another scheme (a proxy's Basic login) is no token of ours: passed over, as on the upgrade.
      const basic = await probe(`/ws/${slug}/guest`, { ...address(), authorization: 'Basic dXNlcjpwdw==' })
      assert.deepEqual([basic.status, basic.body.error?.code], [401, 'UNAUTHORIZED'])
      // The upgrade the probe said 426 to opens.
      const socket = await live.open(`/ws/${slug}/guest?token=${guest}`, { headers: address() })
      socket.close()
    })

    it('takes no socket slot, and sees the slots sockets hold: 429 with Retry-After, as the upgrade', async () => {
      const slug = await createCampaign(live.app)
      const refusedBefore = await metric(
        live.app,
        'ovasabi_ws_upgrades_refused_total',
        'code="TOO_MANY_CONNECTIONS"',
      )
      // One socket per address and per session here: probes from an address leave its slot free.
      const from = address()
      const token = await live.guestToken()
      for (let i = 0; i < 3; i++)
        assert.equal((await probe(`/ws/${slug}/guest?token=${token}`, from)).status, 426)
      await live.open(`/ws/${slug}/guest?token=${token}`, { headers: from })
      const overIp = await probe(`/ws/${slug}/guest?token=${await live.guestToken()}`, from)
      assert.deepEqual(
        seen(overIp),
        seen(await upgrade(`/ws/${slug}/guest?token=${await live.guestToken()}`, from)),
      )
      assert.deepEqual(
        [overIp.status, overIp.body.error?.code, overIp.body.error?.details, overIp.retryAfter],
        [429, 'TOO_MANY_CONNECTIONS', { scope: 'ip', limit: 1 }, '10'],
      )
      // The session's one socket is held (from `from`): its token from any address is refused.
      const overSession = await probe(`/ws/${slug}/guest?token=${token}`)
      assert.deepEqual(seen(overSession), seen(await upgrade(`/ws/${slug}/guest?token=${token}`)))
      assert.deepEqual(
        [
          overSession.status,
          overSession.body.error?.code,
          overSession.body.error?.details,
          overSession.retryAfter,
        ],
        [429, 'TOO_MANY_CONNECTIONS', { scope: 'session', limit: 1 }, '10'],
      )
      // Only the two upgrades were refused sockets; the probes are HTTP requests.
      const refusedAfter = await metric(
        live.app,
        'ovasabi_ws_upgrades_refused_total',
        'code="TOO_MANY_CONNECTIONS"',
      )
      assert.equal(refusedAfter - refusedBefore, 2)
    })

    it('documents every answer of the route in the OpenAPI document', async () => {
      const doc = (await live.app.inject({ url: '/docs/json' })).json()
      const route = doc.paths['/ws/{campaign}/{user_id}'].get
      assert.equal(route.operationId, 'openWebSocket')
      assert.deepEqual(Object.keys(route.responses).sort(), [
        '400',
        '401',
        '403',
        '404',
        '409',
        '426',
        '429',
        '503',
      ])
      assert.match(route.description, /Authorization: Bearer/)
    })
  })
}

describe('the probe counts against the per-client HTTP rate limit', () => {
  const live = realtimeSuite({ env: { RATE_LIMIT_PER_MINUTE: '3' } })

  it('answers 429 RATE_LIMITED with Retry-After past the limit, for that client only', async () => {
    const from = address()
    const get = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${live.port}/ws/any_campaign/guest`, { headers })
    for (let i = 0; i < 3; i++) assert.equal((await get(from)).status, 401)
    const limited = await get(from)
    assert.equal(limited.status, 429)
    assert.equal(((await limited.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED')
    assert.ok(Number(limited.headers.get('retry-after')) > 0)
    assert.equal((await get(address())).status, 401)
  })
})
