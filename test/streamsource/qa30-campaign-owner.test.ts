import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, createCampaign, json, sendAction, type TestContext, userToken } from '../helper.js'
import { account } from './helpers.js'
import { STREAM_URLS } from './helpers.js'

/**
 * A campaign live stream is also a row of the StreamSource registry, which any registry account
 * reads (and every `StreamsChannel` subscriber is sent). Its `campaign` object named the campaign
 * person who streams (`owner_id`), an id the campaign's own visitors are never shown: a registry
 * account could tie a person's streams together across campaigns.
 */
describe('a campaign live stream in the registry', () => {
  let ctx: TestContext
  before(async () => {
    ctx = await buildTestApp({ env: { ...STREAM_URLS } })
  })
  after(() => ctx.close())

  it('names its campaign and state, not the person who streams', async () => {
    const slug = await createCampaign(ctx.app)
    const owner = await userToken(ctx.app, 'user_qa30_streamer')
    const started = await sendAction(ctx.app, slug, owner, 'stream.start', { title: 'Launch' })
    assert.equal(started.statusCode, 200, started.body)
    const id = json(started).result.stream_id as number
    const reader = await account(ctx.app, 'default')
    const headers = { authorization: `Bearer ${reader.token}` }
    const one = json(await ctx.app.inject({ url: `/api/v1/streams/${id}`, headers }))
    assert.deepEqual(one.campaign, { slug, live_status: 'starting' })
    const all = json(await ctx.app.inject({ url: '/api/v1/streams?format=array', headers }))
    const listed = all.find((s: any) => s.id === id)
    assert.deepEqual(listed?.campaign, { slug, live_status: 'starting' })
    const exported = await ctx.app.inject({ url: '/api/v1/streams/export?format=csv', headers })
    assert.equal(exported.statusCode, 200, exported.body)
    for (const [what, body] of [
      ['the list', JSON.stringify(all)],
      ['the export', exported.body],
    ] as const)
      assert.ok(!body.includes('user_qa30_streamer'), `${what} names the streamer`)
  })
})
