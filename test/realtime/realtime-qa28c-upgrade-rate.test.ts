// WebSocket upgrades count against a per-client-network rate (`WS_UPGRADES_PER_MINUTE_PER_IP`),
// not only the sockets held at once: a client opening and closing sockets in a tight loop made the
// server check a token, read the campaign, join presence and replay history each time. Over the
// rate an upgrade (`/ws` and `/cable` together, shared by the nodes on one Redis) is refused 429
// `RATE_LIMITED` with `Retry-After` before the token is looked at; the probe says so too.
import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { describe, it } from 'node:test'
import { createCampaign } from '../helper.js'
import { connect, metric } from './client.js'
import { realtimeSuite } from './fixtures.js'
import { assertRefusal, headerValues, rawUpgrade } from './raw-upgrade.js'
import { twoNodesOnRedis } from './two-nodes.js'

/** An address of its own per run (tests name it in X-Forwarded-For): Redis keeps counts a minute. */
const freshAddress = () => `198.51.${randomInt(0, 256)}.${randomInt(1, 255)}`

/** Open a socket and close it at once; rejects with the HTTP status when the upgrade is refused. */
async function openAndClose(url: string, headers: Record<string, string>): Promise<void> {
  const client = await connect(url, { headers })
  client.close()
}

describe('upgrades per client network per minute', () => {
  const live = realtimeSuite({ env: { WS_UPGRADES_PER_MINUTE_PER_IP: '5' } })

  it('refuses the upgrade over the rate with 429 RATE_LIMITED and Retry-After, before the token', async () => {
    const slug = await createCampaign(live.app)
    const address = { 'x-forwarded-for': freshAddress() }
    const before = await metric(live.app, 'ovasabi_ws_upgrades_refused_total', 'code="RATE_LIMITED"')
    for (let i = 0; i < 5; i++)
      await openAndClose(`${live.url}/ws/${slug}/guest?token=${await live.guestToken()}`, address)
    // A token that would be refused (401): the rate is decided before it is checked.
    const answer = await rawUpgrade(live.port, `/ws/${slug}/guest?token=not-a-token`, address)
    assert.equal(assertRefusal(answer, 429), 'RATE_LIMITED')
    const [retryAfter] = headerValues(answer, 'retry-after')
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`)
    assert.deepEqual(JSON.parse(answer.body).error.details, { scope: 'ip', limit: 5, window_seconds: 60 })
    const good = await live.guestToken()
    await assert.rejects(connect(`${live.url}/ws/${slug}/guest?token=${good}`, { headers: address }), {
      status: 429,
    })
    assert.equal(
      await metric(live.app, 'ovasabi_ws_upgrades_refused_total', 'code="RATE_LIMITED"'),
      before + 2,
    )
    // The probe (what the SDK asks after a socket that never opened) answers the same refusal,
    // without spending the budget itself.
    const probe = await fetch(`http://127.0.0.1:${live.port}/ws/${slug}/guest?token=${good}`, {
      headers: address,
    })
    assert.equal(probe.status, 429)
    assert.equal((await probe.json()).error.code, 'RATE_LIMITED')
    assert.ok(Number(probe.headers.get('retry-after')) >= 1)
    // Another network has its own budget.
    await openAndClose(`${live.url}/ws/${slug}/guest?token=${good}`, { 'x-forwarded-for': freshAddress() })
  })

  it('a probe spends none of the budget', async () => {
    const slug = await createCampaign(live.app)
    const address = { 'x-forwarded-for': freshAddress() }
    const token = await live.guestToken()
    for (let i = 0; i < 10; i++) {
      const probe = await fetch(`http://127.0.0.1:${live.port}/ws/${slug}/guest?token=${token}`, {
        headers: address,
      })
      assert.equal(probe.status, 426)
    }
    for (let i = 0; i < 5; i++) await openAndClose(`${live.url}/ws/${slug}/guest?token=${token}`, address)
  })

  it('counts /cable upgrades in the same budget', async () => {
    const slug = await createCampaign(live.app)
    const address = { 'x-forwarded-for': freshAddress() }
    for (let i = 0; i < 5; i++)
      await openAndClose(`${live.url}/ws/${slug}/guest?token=${await live.guestToken()}`, address)
    const answer = await rawUpgrade(live.port, '/cable', address)
    assert.equal(assertRefusal(answer, 429), 'RATE_LIMITED')
    assert.equal(headerValues(answer, 'retry-after').length, 1)
  })
})

describe('upgrades per client network, nodes on one Redis', () => {
  const nodes = twoNodesOnRedis('postgres', { env: { WS_UPGRADES_PER_MINUTE_PER_IP: '4' } })
  const url = (node: typeof nodes.a) =>
    `ws://127.0.0.1:${(node.app.server.address() as { port: number }).port}`

  it('shares one budget between the nodes', async () => {
    const slug = await createCampaign(nodes.a.app)
    const address = { 'x-forwarded-for': freshAddress() }
    const token = async () => (await nodes.a.app.platform.tokens.issueGuest()).token
    const probe = (node: typeof nodes.a) =>
      fetch(`${url(node).replace('ws:', 'http:')}/ws/${slug}/guest?token=not-a-token`, { headers: address })
    // A network not counted yet: the probe reads no count and counts none.
    assert.equal((await probe(nodes.b)).status, 401)
    for (const node of [nodes.a, nodes.b, nodes.a, nodes.b]) {
      await openAndClose(`${url(node)}/ws/${slug}/guest?token=${await token()}`, address)
    }
    for (const node of [nodes.a, nodes.b]) {
      await assert.rejects(
        connect(`${url(node)}/ws/${slug}/guest?token=${await token()}`, { headers: address }),
        { status: 429 },
      )
    }
    const refused = await probe(nodes.b)
    assert.equal(refused.status, 429)
    assert.ok(Number(refused.headers.get('retry-after')) >= 1)
  })
})
