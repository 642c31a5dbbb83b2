import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { startServerProcess } from './fixtures/server-process.js'

describe('SIGTERM with SHUTDOWN_DRAIN_SECONDS', () => {
  it('turns readiness 503 while still serving, then exits 0', async () => {
    const server = await startServerProcess({ SHUTDOWN_DRAIN_SECONDS: '10' })
    try {
      server.child.kill('SIGTERM')
      // A balancer's probe sees the node leave while it still answers what was sent to it.
      const deadline = Date.now() + 20_000
      let ready: Response | undefined
      for (;;) {
        ready = await fetch(`${server.url}/health/ready`).catch(() => undefined)
        if (ready?.status === 503 || Date.now() > deadline) break
        await new Promise((r) => setTimeout(r, 50))
      }
      assert.equal(ready?.status, 503, `readiness never turned 503 while serving:\n${server.output()}`)
      assert.equal((await ready!.json()).status, 'unhealthy')
      const session = await fetch(`${server.url}/api/session`, { method: 'POST' })
      assert.equal(session.status, 201)
      // Keep-alive clients are told to reconnect (to another node).
      assert.equal(session.headers.get('connection'), 'close')
      assert.equal(await server.exited, 0, server.output())
    } finally {
      server.child.kill('SIGKILL')
    }
  })
})
