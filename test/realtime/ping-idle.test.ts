// A `ping` is the client checking its line (the SDK sends one after 25 s without a frame), not the
// person doing anything: a socket that only pings goes idle after `WS_IDLE_MS` like a silent one,
// and the others see its cursor marked idle. Counted as input, the SDK's heartbeat kept every
// still visitor of a quiet page "active", their cursor shown where they left it, for good.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign } from '../helper.js'
import { realtimeSuite } from './fixtures.js'

describe('realtime: pings are not input', () => {
  const live = realtimeSuite({ dialect: 'pglite', env: { WS_IDLE_MS: '1000' } })

  it('a socket that only pings goes idle, and others see its cursor marked idle', async () => {
    const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
    const still = await live.openGuest(slug)
    const watcher = await live.openGuest(slug)
    still.send({ type: 'cursor', x: 0.25, y: 0.75 })
    const shown = await watcher.next(
      (f) => f.type === 'presence_update' && f.cursors.some((c: unknown[]) => c[1] === 0.25),
    )
    const id = shown.cursors.find((c: unknown[]) => c[1] === 0.25)[0]
    const from = watcher.frames.length

    const pinging = setInterval(() => still.send({ type: 'ping' }), 200)
    try {
      await still.next((f) => f.type === 'pong')
      const idle = await watcher.next(
        (f) => f.type === 'presence_update' && (f.idle ?? []).includes(id),
        10_000,
        from,
      )
      assert.ok(idle.idle.includes(id))
    } finally {
      clearInterval(pinging)
    }
  })
})
