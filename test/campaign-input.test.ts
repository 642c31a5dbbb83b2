import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { adminHeaders, buildTestApp, DIALECTS, json, type TestContext, uniqueSlug } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`campaign input that passes the schema but means nothing (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    it('on create: 400 naming the title, and nothing is created', async () => {
      const slug = uniqueSlug()
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/campaign',
        headers: adminHeaders,
        payload: { slug, title: '   ' },
      })
      assert.equal(res.statusCode, 400, res.body)
      const body = json(res)
      assert.equal(body.error.code, 'VALIDATION_FAILED')
      assert.deepEqual(body.error.details, [{ in: 'body', path: '/title', message: 'must not be blank' }])
      const got = await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders })
      assert.equal(got.statusCode, 404)
    })

    for (const contentType of ['application/json', 'application/merge-patch+json']) {
      it(`on update (${contentType}): 400, and the title is kept`, async () => {
        const slug = uniqueSlug()
        const created = await t.app.inject({
          method: 'POST',
          url: '/api/campaign',
          headers: adminHeaders,
          payload: { slug, title: 'Spring sale' },
        })
        assert.equal(created.statusCode, 201, created.body)
        const res = await t.app.inject({
          method: 'PATCH',
          url: `/api/campaign/${slug}`,
          headers: { ...adminHeaders, 'content-type': contentType },
          payload: JSON.stringify({ title: '\t \n' }),
        })
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(json(res).error.details[0].path, '/title')
        const got = json(
          await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
        )
        assert.equal(got.title, 'Spring sale')
        assert.equal(got.version, 1)
      })
    }

    it('a schedule time zone Intl does not know is refused; IANA names and UTC are kept', async () => {
      const slug = uniqueSlug()
      const create = (timezone: string, s = slug) =>
        t.app.inject({
          method: 'POST',
          url: '/api/campaign',
          headers: adminHeaders,
          payload: { slug: s, title: 'Zoned', metadata: { scheduling: { frequency: 1, timezone } } },
        })
      const refused = await create('Mars/Phobos')
      assert.equal(refused.statusCode, 400, refused.body)
      assert.deepEqual(json(refused).error.details, [
        {
          in: 'body',
          path: '/metadata/scheduling/timezone',
          message: 'must be an IANA time zone, e.g. UTC or Europe/Berlin',
        },
      ])
      assert.equal((await create('America/New_York')).statusCode, 201)
      assert.equal((await create('UTC', uniqueSlug())).statusCode, 201)
      const patched = await t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify({ metadata: { scheduling: { timezone: 'Berlin' } } }),
      })
      assert.equal(patched.statusCode, 400, patched.body)
      const got = json(
        await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
      )
      assert.equal(got.metadata.scheduling.timezone, 'America/New_York')
    })

    it('a title with words and spaces around them is still accepted', async () => {
      const slug = uniqueSlug()
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/campaign',
        headers: adminHeaders,
        payload: { slug, title: ' Spring sale ' },
      })
      assert.equal(res.statusCode, 201, res.body)
    })
  })
}
