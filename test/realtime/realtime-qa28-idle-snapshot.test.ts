import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, REDIS_URL, uniqueSlug } from '../helper.js'
import { realtimeSuite } from './fixtures.js'
import { twoNodesOnRedis } from './two-nodes.js'

// A cursor marked idle was told once, as a delta; a socket that joined later (or caught up from
// behind) got a snapshot whose `idle` was always empty, so it showed an idle cursor as live for
// as long as its owner stayed away.
describe(`realtime qa28: idle cursors in presence snapshots (${DIALECTS[0]})`, () => {
  const live = realtimeSuite({ dialect: DIALECTS[0], env: { WS_IDLE_MS: '1000' } })

  it("a newcomer's snapshot names the cursors that went idle before it came", async () => {
    const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
    const away = await live.openGuest(slug)
    const watcher = await live.openGuest(slug)
    away.send({ type: 'cursor', x: 0.25, y: 0.75 })
    const id = away.frames.find((f) => f.type === 'connected').cursor_id
    await watcher.next((f) => f.type === 'presence_update' && f.cursors.some((c: unknown[]) => c[0] === id))
    // The watcher keeps sending input, so only `away` goes idle.
    const keepActive = setInterval(() => watcher.send({ type: 'cursor', x: 0.5, y: 0.5 }), 200)
    try {
      await watcher.next((f) => f.type === 'presence_update' && f.idle.includes(id))
      const newcomer = await live.openGuest(slug)
      const snap = await newcomer.next((f) => f.type === 'presence_update' && f.snapshot === true)
      assert.ok(
        snap.cursors.some((c: unknown[]) => c[0] === id),
        'the idle cursor is still on the board',
      )
      assert.ok(snap.idle.includes(id), 'and the snapshot says it is idle')
      assert.ok(!snap.idle.includes(watcher.frames[0].cursor_id), 'an active cursor is not')
    } finally {
      clearInterval(keepActive)
    }
  })

  it('a cursor that moves again is no longer idle in later snapshots', async () => {
    const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
    const away = await live.openGuest(slug)
    const watcher = await live.openGuest(slug)
    const id = away.frames[0].cursor_id
    away.send({ type: 'cursor', x: 0.1, y: 0.1 })
    await watcher.next((f) => f.type === 'presence_update' && f.idle.includes(id))
    away.send({ type: 'cursor', x: 0.2, y: 0.2 })
    await watcher.next(
      (f) => f.type === 'presence_update' && f.cursors.some((c: unknown[]) => c[0] === id && c[1] === 0.2),
    )
    const newcomer = await live.openGuest(slug)
    const snap = await newcomer.next((f) => f.type === 'presence_update' && f.snapshot === true)
    assert.ok(snap.cursors.some((c: unknown[]) => c[0] === id))
    assert.ok(!snap.idle.includes(id))
  })
})

// Across nodes: a node that starts listening to a campaign asks the others for their cursors as
// they stand; their answer carried none of the idle marks, so its sockets showed those as live.
describe('realtime qa28: idle cursors reach a node that joins the campaign later (Redis)', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  const nodes = twoNodesOnRedis(DIALECTS[0], { env: { WS_IDLE_MS: '1000' } })

  it("the other node's sockets see the idle cursor as idle", async () => {
    const slug = uniqueSlug('idle')
    await nodes.presenceCampaign(slug)
    const guest = (node: typeof nodes.a) => nodes.guest(node, slug)
    const away = await guest(nodes.a)
    const id = away.frames[0].cursor_id
    away.send({ type: 'cursor', x: 0.3, y: 0.6 })
    await away.next((f) => f.type === 'presence_update' && f.idle.includes(id))
    // Node B had no socket of the campaign until now: it learns A's cursors from A's answer.
    const later = await guest(nodes.b)
    await later.next((f) => f.type === 'presence_update' && f.cursors.some((c: unknown[]) => c[0] === id))
    await later.next((f) => f.type === 'presence_update' && f.idle.includes(id))
  })
})
