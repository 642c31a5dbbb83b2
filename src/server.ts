import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import type { Config } from './config.js'

/**
 * Listen, and shut down gracefully on SIGTERM/SIGINT: readiness turns 503, the server stops
 * accepting, in-flight requests finish, pending writes flush, pools close.
 */
export async function startServer(config: Config): Promise<FastifyInstance> {
  const app = await buildApp(config)
  closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    app.draining = true
    // Requests that finish during shutdown leave keep-alive sockets behind; Node closes only the
    // sockets idle at close() time, so keep closing the ones that become idle until all are gone.
    const sweeper = setInterval(() => app.server.closeIdleConnections(), 100)
    try {
      await app.close()
    } finally {
      clearInterval(sweeper)
    }
  })
  await app.listen({ port: config.PORT, host: config.HOST })
  return app
}
