// API keys limited to some campaigns: a key made with `campaigns` acts on those only. Elsewhere,
// and on routes that act on no single campaign (campaign list and creation, people, Amadeus, the
// StreamSource registry), it is refused 403 `API_KEY_CAMPAIGN_SCOPE`, on REST, the action endpoint
// and the WebSocket alike. Keys made without it work everywhere, as before.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import WebSocket from 'ws'
import { BIN, runCli } from './fixtures/run-cli.js'
import { buildTestApp, createCampaign, DIALECTS, json, listenLocally, type TestContext } from './helper.js'
import { baseUrl, connect, type TestClient } from './realtime/client.js'
import { migratedDataDir } from './fixtures/migrated-data-dir.js'

const SCOPE = 'API_KEY_CAMPAIGN_SCOPE'

function assertScopeRefusal(res: LightMyRequestResponse, what: string) {
  assert.equal(res.statusCode, 403, `${what}: ${res.body}`)
  assert.equal(json(res).error.code, SCOPE, what)
  assert.match(json(res).error.message, /limited to the campaign/, what)
}

for (const dialect of DIALECTS) {
  describe(`API keys limited to campaigns (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance
    let mine: string
    let other: string
    let scoped: { id: string; key: string }
    let unscoped: { id: string; key: string }
    const sockets: TestClient[] = []

    before(async () => {
      ctx = await buildTestApp({ dialect })
      app = ctx.app
      await listenLocally(app)
      mine = await createCampaign(app)
      other = await createCampaign(app)
      scoped = await app.platform.apiKeys.create({ name: 'agency', role: 'admin', campaigns: [mine] })
      unscoped = await app.platform.apiKeys.create({ name: 'ops', role: 'admin' })
    })
    after(async () => {
      for (const s of sockets) s.close()
      await ctx.close()
    })

    const as = (key: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      app.inject({ method, url, headers: { 'x-api-key': key }, payload })

    it('works on its campaign’s REST routes and is refused on another campaign’s', async () => {
      assert.equal((await as(scoped.key, 'GET', `/api/campaign/${mine}/stats`)).statusCode, 200)
      assert.equal((await as(scoped.key, 'GET', `/api/campaign/${mine}/leads`)).statusCode, 200)
      assertScopeRefusal(await as(scoped.key, 'GET', `/api/campaign/${other}/stats`), 'stats')
      assertScopeRefusal(await as(scoped.key, 'GET', `/api/campaign/${other}/leads`), 'leads')
      const patched = await as(scoped.key, 'PATCH', `/api/campaign/${other}`, { title: 'Taken over' })
      assertScopeRefusal(patched, 'patch')
      assert.match(json(patched).error.message, new RegExp(`${mine}.*${other}`))
      // Even a read any session may make names the campaign, so it is the key's campaign or none.
      assertScopeRefusal(await as(scoped.key, 'GET', `/api/campaign/${other}`), 'read')
    })

    it('is refused on the action endpoint for another campaign, by path or by envelope', async () => {
      const action = { action: 'content.create', data: { id: 'x' } }
      const own = await as(scoped.key, 'POST', `/api/${mine}/update`, action)
      assert.notEqual(json(own).error?.code, SCOPE, own.body)
      assertScopeRefusal(await as(scoped.key, 'POST', `/api/${other}/update`, action), 'action')
      const envelope = {
        type: 'campaign_event',
        campaign_id: other,
        user: { user_id: `apikey:${scoped.id}`, session_id: `apikey:${scoped.id}`, roles: ['admin'] },
        event: 'content.create',
        payload: {},
      }
      assertScopeRefusal(await as(scoped.key, 'POST', `/api/${mine}/update`, envelope), 'envelope')
    })

    it('is refused when the body names another campaign (referral, join)', async () => {
      assertScopeRefusal(
        await as(scoped.key, 'POST', '/api/referral', { campaign: other, code: 'ABCDEF' }),
        'referral',
      )
      const join = { campaign: other, email: 'scope@example.org', name: 'Scope' }
      assertScopeRefusal(await as(scoped.key, 'POST', '/api/user/register', join), 'register')
    })

    it('is refused on routes that act on no single campaign or on all of them', async () => {
      assertScopeRefusal(await as(scoped.key, 'GET', '/api/campaign'), 'list campaigns')
      const made = await as(scoped.key, 'POST', '/api/campaign', { slug: 'scoped_made', title: 'No' })
      assertScopeRefusal(made, 'create campaign')
      assertScopeRefusal(await as(scoped.key, 'GET', '/api/users'), 'people')
      assertScopeRefusal(await as(scoped.key, 'GET', '/api/amadeus/graph'), 'amadeus')
      assertScopeRefusal(await as(scoped.key, 'DELETE', `/api/user/${unscoped.id}`), 'erase a person')
      const v1 = await app.inject({
        method: 'GET',
        url: '/api/v1/streams',
        headers: { 'x-api-key': scoped.key },
      })
      assert.equal(v1.statusCode, 403, v1.body)
      assert.match(json(v1).error, /limited to the campaign/)
      const cable = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${baseUrl(app)}/cable?token=${scoped.key}`)
        ws.once('unexpected-response', (_req, res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        ws.once('open', () => {
          ws.terminate()
          reject(new Error('/cable opened for a scoped key'))
        })
        ws.once('error', reject)
      })
      assert.equal(cable, 403)
      // A route any session may read still answers.
      const me = await as(scoped.key, 'GET', '/api/auth/me')
      assert.equal(me.statusCode, 200, me.body)
    })

    it('opens the WebSocket of its campaign and is refused on another’s', async () => {
      const path = (slug: string) => `${baseUrl(app)}/ws/${slug}/apikey:${scoped.id}?token=${scoped.key}`
      sockets.push(await connect(path(mine)))
      await assert.rejects(connect(path(other)), (err: any) => {
        assert.equal(err.status, 403)
        assert.equal(JSON.parse(err.body).error.code, SCOPE)
        return true
      })
    })

    it('leaves keys made without campaigns working everywhere', async () => {
      assert.equal((await as(unscoped.key, 'GET', '/api/campaign')).statusCode, 200)
      assert.equal((await as(unscoped.key, 'GET', `/api/campaign/${other}/stats`)).statusCode, 200)
      assert.equal((await as(unscoped.key, 'GET', '/api/amadeus/graph')).statusCode, 200)
      const socket = await connect(`${baseUrl(app)}/ws/${other}/apikey:${unscoped.id}?token=${unscoped.key}`)
      sockets.push(socket)
    })

    it('lists each key’s campaigns (null: every campaign)', async () => {
      const listed = await app.platform.apiKeys.list()
      const byId = new Map(listed.map((k) => [k.id, k]))
      assert.deepEqual(byId.get(scoped.id)?.campaigns, [mine])
      assert.equal(byId.get(unscoped.id)?.campaigns, null)
      await assert.rejects(
        app.platform.apiKeys.create({ name: 'none', role: 'admin', campaigns: [] }),
        RangeError,
      )
      await assert.rejects(
        app.platform.apiKeys.create({ name: 'bad', role: 'admin', campaigns: ['No!'] }),
        RangeError,
      )
    })
  })
}

describe('ovasabi apikey create --campaign', () => {
  const cli = async (args: string[], env: Record<string, string>) => {
    const r = await runCli([BIN, ...args], env)
    return { code: r.code, out: r.stdout, err: r.stderr }
  }

  it('stores the campaigns, prints and lists them; a bad slug is a usage error', async () => {
    const DATA_DIR = await migratedDataDir('ovasabi-cli-')
    const args = ['apikey', 'create', '--name', 'crm', '--campaign', 'spring_sale', '--campaign', 'autumn']
    const made = await cli([...args, '--json'], { DATA_DIR })
    assert.equal(made.code, 0, made.err)
    const key = JSON.parse(made.out)
    assert.deepEqual(key.campaigns, ['autumn', 'spring_sale'])

    const text = await cli(['apikey', 'create', '--name', 'agency', '--campaign', 'autumn'], { DATA_DIR })
    assert.equal(text.code, 0, text.err)
    assert.match(text.out, /campaigns autumn only/)

    const listed = await cli(['apikey', 'list'], { DATA_DIR })
    const crm = listed.out.split('\n').find((l) => l.includes('\tcrm\t'))
    assert.ok(crm?.endsWith('\tcampaigns autumn,spring_sale'), listed.out)
    const listedJson = JSON.parse((await cli(['apikey', 'list', '--json'], { DATA_DIR })).out)
    assert.deepEqual(listedJson.find((k: { name: string }) => k.name === 'crm').campaigns, [
      'autumn',
      'spring_sale',
    ])

    const refused = await cli(['apikey', 'create', '--name', 'x', '--campaign', 'Not A Slug'], { DATA_DIR })
    assert.equal(refused.code, 1, refused.out + refused.err)
    assert.match(refused.err, /--campaign/)
  })
})
