import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import type { EventChannel, EventDirection } from '../../src/amadeus/event-schemas.js'
import { CampaignEventFrame } from '../../src/amadeus/frames.schema.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  guestToken,
  json,
  REDIS_URL,
  type TestContext,
} from '../helper.js'
import { baseUrl, connect, type TestClient } from '../realtime/client.js'

const MODULES = [
  'session',
  'campaign',
  'nexus',
  'analytics',
  'user',
  'referral',
  'localization',
  'media',
  'notification',
  'quote',
  'stream',
  'web',
  'realtime',
  'health',
  'observability',
  'docs',
  'apikeys',
  'amadeus',
]

/** Schema errors, plus top-level fields the schema does not declare (a field added without its schema). */
function mismatches(schema: TSchema, value: unknown): string[] {
  const errors = [...Value.Errors(schema, value)].map((e) => JSON.stringify(e))
  const s = schema as { type?: string; properties?: Record<string, unknown> }
  if (s.type === 'object' && s.properties && value && typeof value === 'object') {
    for (const k of Object.keys(value)) if (!(k in s.properties)) errors.push(`undeclared field "${k}"`)
  }
  return errors
}

describe('the real app declares every event it sends, and sends what it declares', () => {
  let t: TestContext
  let url: string
  const clients: TestClient[] = []
  const open = async (path: string) => {
    const c = await connect(`${url}${path}`)
    clients.push(c)
    return c
  }
  /** The frame matches the schema the registry (and so `/docs/asyncapi.json`) has for it. */
  const conforms = (channel: EventChannel, direction: EventDirection, name: string, value: unknown) => {
    const entry = t.app.eventSchemas.get(channel, direction, name)
    assert.ok(entry, `no schema for ${channel} ${direction} ${name}`)
    if (channel === 'ws' && name.includes('.')) {
      const frame = value as { payload: unknown }
      assert.deepEqual(mismatches(CampaignEventFrame, frame), [], `${name} frame`)
      assert.deepEqual(mismatches(entry.schema, frame.payload), [], `${name} payload`)
    } else assert.deepEqual(mismatches(entry.schema, value), [], name)
  }

  before(async () => {
    t = await buildTestApp({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' } })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    url = baseUrl(t.app)
  })
  after(async () => {
    for (const c of clients) c.close()
    await t.close()
  })

  it('`kg validate` passes: in-process validation of the real app finds no problem', async () => {
    const problems = await t.app.amadeus.validate()
    assert.deepEqual(
      problems.map((p) => `[${p.code}] ${p.subject}: ${p.message}`),
      [],
    )
  })

  it('the graph has every module, with the dependencies, routes and events the code has', async () => {
    const g = await t.app.amadeus.graph()
    const modules = g.nodes.filter((n) => n.type === 'module').map((n) => n.label)
    assert.deepEqual(modules.sort(), [...MODULES].sort())
    const has = (from: string, type: string, to: string) =>
      g.edges.some((e) => e.from === from && e.type === type && e.to === to)
    for (const [from, type, to] of [
      ['module:realtime', 'depends_on', 'external:redis'],
      ['module:quote', 'depends_on', 'external:ratelimit'],
      ['module:user', 'depends_on', 'external:ratelimit'],
      ['module:quote', 'depends_on', 'module:notification'],
      ['module:referral', 'depends_on', 'module:user'],
      ['module:web', 'exposes', 'endpoint:GET /c/:campaign'],
      ['module:web', 'exposes', 'endpoint:GET /assets/*'],
      ['module:web', 'depends_on', 'module:realtime'],
      ['module:stream', 'consumes', 'event:ws:stream_join'],
      ['module:notification', 'emits', 'event:webhook:lead.created'],
      ['module:referral', 'enabled_by', 'feature:referral'],
      ['module:realtime', 'enabled_by', 'feature:presence'],
      ['module:health', 'exposes', 'endpoint:GET /health/ready'],
      ['module:health', 'depends_on', 'external:database'],
      ['module:realtime', 'emits', 'event:bus:ovasabi:realtime:c:{campaign}'],
      ['module:stream', 'consumes', 'event:bus:ovasabi:cable'],
    ])
      assert.ok(has(from!, type!, to!), `${from} ${type} ${to}`)
  })

  it('/docs/asyncapi.json has the inbound frames modules handle and the module events', async () => {
    const doc = json(await t.app.inject({ url: '/docs/asyncapi.json' }))
    const names = (channel: string) =>
      Object.values(doc.channels[channel].messages as Record<string, { name: string }>).map((m) => m.name)
    const ws = names('campaignSocket')
    for (const n of ['auth', 'stream_join', 'stream_leave', 'cursor', 'ping'])
      assert.ok(doc.channels.campaignSocket.messages[`client.${n}`], `client ${n}`)
    for (const n of [
      'lead.created',
      'lead.updated',
      'referral.milestone',
      'resync_required',
      'pong',
      'auth_ok',
    ])
      assert.ok(ws.includes(n), n)
    assert.ok(names('cable').includes('CollaborativeStreamsChannel'))
  })

  it('gateway frames on the wire: connected, pong, auth_ok, presence_update', async () => {
    const slug = await createCampaign(t.app)
    const tokens = t.app.platform.tokens
    const first = await tokens.issueUser({ userId: 'user_decl', roles: ['participant'] })
    const c = await open(`/ws/${slug}/user_decl?token=${first.token}`)
    conforms('ws', 'send', 'connected', c.frames[0])
    c.send({ type: 'ping', ts: 42 })
    conforms('ws', 'send', 'pong', await c.next((f) => f.type === 'pong'))
    const refreshed = await tokens.issueUser({ userId: 'user_decl', roles: ['participant'] })
    const auth = { type: 'auth', token: refreshed.token }
    conforms('ws', 'receive', 'auth', auth)
    c.send(auth)
    conforms('ws', 'send', 'auth_ok', await c.next((f) => f.type === 'auth_ok'))
    c.send({ type: 'cursor', x: 0.25, y: 0.5 })
    conforms(
      'ws',
      'send',
      'presence_update',
      await c.next((f) => f.type === 'presence_update' && f.cursors.length > 0),
    )
  })

  it('lead events to admins and CRM webhook bodies match their schemas', async () => {
    const slug = await createCampaign(t.app)
    const admin = await t.app.platform.tokens.issueUser({ userId: 'user_decl_admin', roles: ['admin'] })
    const c = await open(`/ws/${slug}/user_decl_admin?token=${admin.token}`)
    const hook = await t.app.inject({
      method: 'POST',
      url: `/api/campaign/${slug}/webhooks`,
      headers: adminHeaders,
      payload: { url: 'http://127.0.0.1:9/crm', events: ['*'] },
    })
    assert.equal(hook.statusCode, 201, hook.body)
    const guest = await guestToken(t.app)
    const lead = { campaign: slug, name: 'Grace Hopper', email: 'grace@navy.example', consent: true }
    const submit = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${guest.token}` },
        payload: lead,
      })
    const res = await submit()
    assert.equal(res.statusCode, 200, res.body)
    const created = await c.next((f) => f.type === 'campaign_event' && f.event === 'lead.created')
    conforms('ws', 'send', 'lead.created', created)
    assert.equal((await submit()).statusCode, 200)
    const resubmitted = await c.next((f) => f.event === 'lead.updated' && f.payload.reason === 'resubmitted')
    conforms('ws', 'send', 'lead.updated', resubmitted)
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/api/campaign/${slug}/leads/${created.payload.lead.id}`,
      headers: adminHeaders,
      payload: { status: 'contacted' },
    })
    assert.equal(patch.statusCode, 200, patch.body)
    conforms(
      'ws',
      'send',
      'lead.updated',
      await c.next((f) => f.event === 'lead.updated' && f.payload.change),
    )
    const test = await t.app.inject({
      method: 'POST',
      url: `/api/campaign/${slug}/webhooks/${json(hook).id}/test`,
      headers: adminHeaders,
    })
    assert.ok(test.statusCode < 300, test.body)

    const rows = await t.app.platform.database.db
      .selectFrom('service_notification_outbox')
      .select(['event', 'payload'])
      .where('campaign_slug', '=', slug)
      .execute()
    const body = (p: unknown) => (typeof p === 'string' ? JSON.parse(p) : p)
    assert.deepEqual(rows.map((r) => r.event).sort(), [
      'lead.created',
      'lead.updated',
      'lead.updated',
      'webhook.test',
    ])
    for (const r of rows) conforms('webhook', 'send', r.event, body(r.payload))
  })

  it('referral.milestone on the wire matches its schema', async () => {
    const slug = await createCampaign(t.app, { metadata: { custom_rules: { referral_milestones: [1] } } })
    const register = async (email: string, name: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { 'x-forwarded-for': `10.9.8.${email.length}` },
        payload: { campaign: slug, email, name },
      })
      assert.ok(res.statusCode < 300, res.body)
      return json(res)
    }
    const ada = await register('ada@engines.example', 'Ada')
    const bob = await register('bob.b@builders.example', 'Bob')
    const watcher = (await t.app.platform.tokens.issueGuest()).token
    const c = await open(`/ws/${slug}/guest?token=${watcher}`)
    const applied = await t.app.inject({
      method: 'POST',
      url: '/api/referral',
      headers: { authorization: `Bearer ${bob.token}` },
      payload: { campaign: slug, code: ada.user.referral_code },
    })
    assert.equal(applied.statusCode, 200, applied.body)
    conforms('ws', 'send', 'referral.milestone', await c.next((f) => f.event === 'referral.milestone'))
  })

  // Last: it adds a module to this app's registry.
  it('the same validation catches, on the real server, a route it lacks and an event without a schema', async () => {
    t.app.modules.add({
      name: 'ghost',
      version: '0.0.0',
      description: 'Declares what the server does not have',
      capabilities: [],
      dependencies: ['campaign'],
      // The OpenAPI spelling: Fastify serves `/c/:campaign`, not this.
      endpoints: [{ method: 'GET', path: '/c/{campaign}', auth: 'public' }],
      actions: [],
      events: [{ name: 'ghost.appeared', channel: 'ws', direction: 'emits' }],
      tables: [],
      features: [],
    })
    const problems = await t.app.amadeus.validate()
    assert.deepEqual(problems.map((p) => `${p.code} ${p.subject}`).sort(), [
      'MISSING_EVENT_SCHEMA module:ghost',
      'MISSING_ROUTE module:ghost',
    ])
  })
})

describe('impact of Redis in the real app', { skip: !REDIS_URL }, () => {
  let t: TestContext
  before(async () => {
    t = await buildTestApp({ redis: true })
  })
  after(() => t.close())

  it('reaches realtime scale-out, rate limits, the modules on them and the campaigns using their features', async () => {
    const { impacted } = await t.app.amadeus.impact('redis')
    const byId = new Map(impacted.map((i) => [i.node.id, i]))
    for (const id of [
      'module:realtime',
      'external:ratelimit',
      'external:bus',
      'module:quote',
      'module:user',
      'module:stream',
      'feature:presence',
      'feature:quote',
      `campaign:${t.config.DEFAULT_CAMPAIGN}`,
    ])
      assert.ok(byId.has(id), id)
    const chain = (id: string) => byId.get(id)!.path.map((e) => `${e.from} ${e.type} ${e.to}`)
    assert.deepEqual(chain('module:realtime'), ['module:realtime depends_on external:redis'])
    assert.deepEqual(chain('external:ratelimit'), ['external:ratelimit depends_on external:redis'])
    // Through a module on Redis, then the feature it is enabled by, then the campaign using it.
    const campaignPath = chain(`campaign:${t.config.DEFAULT_CAMPAIGN}`)
    assert.match(campaignPath.at(-1)!, /^campaign:\S+ uses feature:/)
  })
})
