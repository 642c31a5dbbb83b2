import assert from 'node:assert/strict'
import { Agent, get, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import Fastify from 'fastify'
import { closeIdleWhileClosing } from './close-idle.js'

describe('closeIdleWhileClosing', () => {
  // Without it, close() waits for the keep-alive timeout (ten minutes here): the test times out.
  it('closes a keep-alive socket whose answer was still being written when close() began', {
    timeout: 60_000,
  }, async () => {
    const app = Fastify({ forceCloseConnections: 'idle', keepAliveTimeout: 600_000 })
    closeIdleWhileClosing(app)
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    // The head goes out at once (keep-alive, as the server is open); the body ends on release.
    app.get('/slow', async (_request, reply) => {
      const body = new PassThrough()
      body.write('first part, ')
      gate.then(() => body.end('last part'))
      return reply.type('text/plain').send(body)
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    const agent = new Agent({ keepAlive: true })
    try {
      const request = get({ host: '127.0.0.1', port, path: '/slow', agent })
      const [res] = (await once(request, 'response')) as [IncomingMessage]
      const closing = app.close()
      release()
      res.resume()
      await once(res, 'end')
      // The server's close() resolves once its last connection has closed.
      await closing
      assert.equal(app.server.listening, false)
    } finally {
      agent.destroy()
    }
  })
})
