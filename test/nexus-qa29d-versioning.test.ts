// `metadata.versioning` is the object the server fills in (system_version, service_version,
// environment), merged over what the client sent there. A client value that is no object was
// spread into it key by key: a string of 200 000 characters became an object of 200 000 keys
// (`"0":"x","1":"x",…`), stored in the analytics log at about ten times the body's size and
// built on the request's path. Refused now with 400 at /metadata/versioning, as a wrong type is
// anywhere else in the body; an object is still merged.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, createCampaign, DIALECTS, guestToken, json, type TestContext } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`an action's metadata.versioning (${dialect})`, () => {
    let t: TestContext
    let slug: string
    let auth: { authorization: string }

    before(async () => {
      t = await buildTestApp({ dialect })
      slug = await createCampaign(t.app)
      auth = { authorization: `Bearer ${(await guestToken(t.app)).token}` }
    })
    after(() => t.close())

    const post = (payload: object) =>
      t.app.inject({ method: 'POST', url: `/api/${slug}/update`, headers: auth, payload })
    const stored = (requestId: string) =>
      t.app.platform.database.db
        .selectFrom('service_analytics_event')
        .select('metadata')
        .where('campaign_slug', '=', slug)
        .where('event_id', '=', requestId)
        .execute()

    for (const [name, versioning] of [
      ['a long string', 'x'.repeat(200_000)],
      ['an array', Array.from({ length: 1000 }, (_, i) => i)],
      ['a number', 7],
    ] as const) {
      for (const form of ['seed', 'envelope'] as const) {
        it(`refuses ${name} there (${form} form) with 400 at /metadata/versioning, recording nothing`, async () => {
          const requestId = `ver_${form}_${typeof versioning}_${Date.now()}`
          const body =
            form === 'seed'
              ? { action: 'content.create', data: {}, metadata: { versioning }, request_id: requestId }
              : {
                  type: 'campaign_event',
                  event: 'content.create',
                  payload: {},
                  metadata: { versioning },
                  request_id: requestId,
                }
          const res = await post(body)
          assert.equal(res.statusCode, 400, res.body.slice(0, 300))
          const { error } = json(res)
          assert.equal(error.code, 'VALIDATION_FAILED')
          assert.ok(
            error.details.some(
              (d: { in: string; path: string }) => d.in === 'body' && d.path === '/metadata/versioning',
            ),
            JSON.stringify(error.details),
          )
          assert.deepEqual(await stored(requestId), [])
        })
      }
    }

    it("merges a client's versioning object under the server's fields", async () => {
      const res = await post({
        action: 'content.create',
        data: {},
        metadata: { versioning: { client_version: '2.4.1', environment: 'spoofed' } },
        request_id: `ver_obj_${Date.now()}`,
      })
      assert.equal(res.statusCode, 200, res.body)
      const [row] = await stored(json(res).request_id)
      const versioning = (row!.metadata as { versioning: Record<string, unknown> }).versioning
      assert.equal(versioning.client_version, '2.4.1')
      assert.equal(versioning.environment, t.config.ENVIRONMENT)
      assert.equal(versioning.system_version, t.config.VERSION)
    })
  })
}
