import type { FastifyInstance } from 'fastify'

/** How often, while the server closes, the keep-alive sockets that became idle are closed. */
const SWEEP_MS = 100

/**
 * Node's `server.close()` closes the keep-alive sockets idle at that moment (Fastify's
 * `forceCloseConnections: 'idle'`); a socket whose answer was still being written then becomes
 * idle a moment later and is left open until the keep-alive timeout (72 s), and `close()` waits
 * for it. Until the server has closed, the sockets that become idle are closed too. Every
 * `app.close()` gets it: a signal's graceful shutdown, a failed start, a test's teardown.
 */
export function closeIdleWhileClosing(app: FastifyInstance): void {
  app.addHook('preClose', (done) => {
    const server = app.server
    if (!server.listening) return done()
    const sweeper = setInterval(() => server.closeIdleConnections(), SWEEP_MS)
    server.once('close', () => clearInterval(sweeper))
    done()
  })
}
