// A campaign stream stopped on one node (QA pass 33): only that node forgot the sockets watching
// it (`watching`); every other node kept its viewers of the ended stream as members of its chat
// group until they left or closed, so a chat message still on its way reached them after the end.
// The stop now tells every node over the bus (`ovasabi:stream:ended`), and each forgets them.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TestContext } from './helper.js'
import { createCampaign, json, REDIS_URL, sendAction, uniqueSlug, userToken } from './helper.js'
import { twoNodesOnRedis } from './realtime/two-nodes.js'
import { STREAM_URLS } from './streamsource/helpers.js'
import { goLive, watch } from './live-stream-fixtures.js'
import { waitFor } from './wait-for.js'

const WAIT = 20_000

describe('a campaign stream stopped on one node, watched on another', {
  skip: (!REDIS_URL || !process.env.DATABASE_URL) && 'REDIS_URL and DATABASE_URL are needed',
}, () => {
  // Stream ids start again in each fresh database: this run's Redis names are its own.
  const nodes = twoNodesOnRedis('postgres', {
    env: { ...STREAM_URLS, REDIS_PREFIX: uniqueSlug('qa33_stop') },
  })

  it("every node forgets the ended stream's viewers; another stream's stay", async () => {
    const { a, b } = nodes
    const slug = await createCampaign(a.app)
    const owner = await userToken(a.app, `user_owner_${slug}`)
    const id = await goLive(a.app, slug, owner)
    const other = await goLive(a.app, slug, await userToken(a.app, `user_other_${slug}`), 'Other')
    const members = (node: TestContext, stream: number) => [
      ...node.app.inbound.members(slug, `stream:${stream}`),
    ]

    const viewer = await nodes.guest(b, slug)
    await watch(viewer, id, WAIT)
    const otherViewer = await nodes.guest(b, slug)
    await watch(otherViewer, other, WAIT)
    assert.equal(members(b, id).length, 1)
    assert.equal(members(b, other).length, 1)

    const stop = await sendAction(a.app, slug, owner, 'stream.stop', { stream_id: id })
    assert.equal(stop.statusCode, 200, stop.body)
    assert.equal(json(stop).result.status, 'ended')
    await viewer.next(
      (f) => f.type === 'stream_event' && f.kind === 'status' && f.stream_id === id && f.status === 'ended',
      WAIT,
    )
    await waitFor(() => members(b, id).length === 0, "node B to forget the ended stream's viewer")
    assert.equal(members(b, other).length, 1, 'a stream still live keeps its viewers')
  })
})
