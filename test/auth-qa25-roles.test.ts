import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { ulid } from 'ulid'
import { createSecretBox } from '../src/modules/notification/index.js'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, suiteApp, uniqueSlug } from './helper.js'

/**
 * Every editor and admin route, as the manifests declare them (and the graph's validation finds no
 * served route they leave out), called with real ids and bodies that would change something by a
 * person's token, a guest's and (on admin routes) an editor key: each is refused 403 FORBIDDEN and
 * nothing an admin can read has changed. A person erasing "themself" must be one: the `user_id` of
 * a guest ("guest") or a key (`apikey:…`) names nobody.
 */

let networks = 0
/** A client network of its own per request, so no refusal spends another's rate budget. */
const network = () => `10.${200 + (++networks >> 8)}.${networks % 256}.7`

for (const dialect of DIALECTS) {
  describe(`editor and admin routes refuse weaker callers, with no side effect (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    async function admin(app: FastifyInstance, method: string, url: string, payload?: unknown) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { ...adminHeaders, 'x-forwarded-for': network() },
        ...(payload === undefined ? {} : { payload: payload as object }),
      })
      assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`)
      return res
    }

    /** What an admin reads of the campaign, its webhooks, leads, audit and catalog, and of the graph. */
    async function snapshot(app: FastifyInstance, slug: string) {
      const reads = [
        '/api/campaign',
        `/api/campaign/${slug}`,
        `/api/campaign/${slug}/webhooks`,
        `/api/campaign/${slug}/leads`,
        `/api/campaign/${slug}/audit`,
        `/api/campaign/${slug}/catalog`,
        '/api/amadeus/history',
      ]
      const out: Record<string, unknown> = {}
      for (const url of reads) out[url] = (await admin(app, 'GET', url)).body
      return out
    }

    it('answers a participant, a guest and an editor key on an admin route 403, and changes nothing', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const guest = await guestToken(app)
      const lead = await app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { campaign: slug, name: 'Ada', email: 'ada@example.com' },
      })
      assert.ok(lead.statusCode < 300, lead.body)
      const leadId = (await admin(app, 'GET', `/api/campaign/${slug}/leads`)).json().leads[0]
        .lead_id as string
      // Planted as stored (registration resolves the host, and tests have no DNS).
      const webhookId = `wh_${ulid()}`
      await app.platform.database.db
        .insertInto('service_notification_webhook')
        .values({
          id: webhookId,
          campaign_slug: slug,
          url: 'https://crm.example.com/hook',
          events: JSON.stringify(['*']),
          secret_sealed: createSecretBox(suite.ctx.config.JWT_SECRET).seal('whsec_c2VjcmV0'),
          created_by: 'test',
        })
        .execute()
      const joined = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { authorization: `Bearer ${(await guestToken(app)).token}` },
        payload: { campaign: slug, email: `walk.${Date.now()}@example.com`, name: 'Walker' },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      const editor = await app.platform.apiKeys.create({ name: `editor ${slug}`, role: 'editor' })

      // The walk covers what is served: no route left out of the manifests.
      const validation = (await admin(app, 'GET', '/api/amadeus/validate')).json()
      const undeclared = validation.problems.filter((p: { code: string }) => p.code === 'UNDECLARED_ROUTE')
      assert.deepEqual(undeclared, [])

      /** Bodies that would act if the route let the caller through. */
      const bodies: Record<string, unknown> = {
        'POST /api/campaign': { slug: uniqueSlug('walk'), title: 'Walk' },
        'PATCH /api/campaign/:slug': { title: 'Taken over' },
        'PUT /api/campaign/:slug/catalog': { entries: { en: { hello: 'pwned' } } },
        'POST /api/campaign/:slug/webhooks': {
          url: 'https://evil.example.com/hook',
          events: ['lead.created'],
        },
        'PATCH /api/campaign/:slug/webhooks/:id': { url: 'https://evil.example.com/hook' },
        'PATCH /api/campaign/:slug/leads/:id': { status: 'won' },
        'POST /api/amadeus/import': { versions: [] },
      }
      const idFor = (path: string) =>
        path.includes('/webhooks/') ? webhookId : path.includes('/leads/') ? leadId : 'campaign'

      // The graph records the new campaign in a version of its own, after it was made: awaited,
      // so the history compared holds it before the walk starts.
      for (let i = 0; i < 200; i++) {
        if ((await admin(app, 'GET', '/api/amadeus/history')).body.includes(`campaign:${slug}`)) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const before = await snapshot(app, slug)
      const callers: Array<[string, Record<string, string>, 'editor' | 'admin']> = [
        ['a participant', { authorization: `Bearer ${joined.json().token}` }, 'editor'],
        ['a guest', { authorization: `Bearer ${guest.token}` }, 'editor'],
        ['an editor key', { 'x-api-key': editor.key }, 'admin'],
      ]
      const wrong: string[] = []
      let walked = 0
      for (const manifest of app.modules.list()) {
        for (const e of manifest.endpoints) {
          if (e.auth !== 'admin' && e.auth !== 'editor') continue
          walked++
          const url = e.path
            .replace(':slug', slug)
            .replace(/:id/, idFor(e.path))
            .replace(/:\w+/g, 'x1')
            .replace('*', 'x')
          const body =
            bodies[`${e.method} ${e.path}`] ?? (e.method === 'GET' || e.method === 'DELETE' ? undefined : {})
          for (const [who, headers, below] of callers) {
            // An editor key may use editor routes: it is checked on admin ones only.
            if (below === 'admin' && e.auth !== 'admin') continue
            const res = await app.inject({
              method: e.method as 'GET',
              url,
              headers: { ...headers, 'x-forwarded-for': network() },
              ...(body === undefined ? {} : { payload: body as object }),
            })
            const code = res.body
              ? (JSON.parse(res.body) as { error?: { code?: string } }).error?.code
              : undefined
            if (res.statusCode !== 403 || code !== 'FORBIDDEN')
              wrong.push(`${e.method} ${url} by ${who}: ${res.statusCode} ${res.body.slice(0, 160)}`)
          }
        }
      }
      assert.ok(walked >= 30, `only ${walked} editor/admin routes declared`)
      assert.deepEqual(wrong, [])
      assert.deepEqual(await snapshot(app, slug), before, 'a refused call changed something')
    })

    it('lets only a person erase themself: a guest or a key naming its own user_id is refused 403', async () => {
      const { app } = suite
      const guest = await guestToken(app)
      const key = await app.platform.apiKeys.create({
        name: `participant key ${Date.now()}`,
        role: 'participant',
      })
      const tries: Array<[string, Record<string, string>]> = [
        ['/api/user/guest', { authorization: `Bearer ${guest.token}` }],
        [`/api/user/apikey:${key.id}`, { 'x-api-key': key.key }],
      ]
      for (const [url, headers] of tries) {
        const res = await app.inject({ method: 'DELETE', url, headers })
        assert.equal(res.statusCode, 403, `${url}: ${res.body}`)
        assert.equal(json(res).error.code, 'FORBIDDEN', url)
      }
    })
  })
}
