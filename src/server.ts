import { setTimeout as sleep } from 'node:timers/promises'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import type { Config } from './config.js'
import { ListenError } from './listen-error.js'
import { loadSharp } from './modules/media/thumbnail.js'

/** How long closing may take (sockets, in-flight requests, batches, pools) before the process exits 1. */
const CLOSE_TIMEOUT_MS = 15_000

const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another process listens there)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'this machine has no such address',
}

/**
 * Listen, and shut down gracefully on SIGTERM/SIGINT: readiness turns 503 (and, on SIGTERM, the
 * server keeps serving for `SHUTDOWN_DRAIN_SECONDS` so balancers see it and stop sending), then
 * the server stops accepting, in-flight requests finish, pending writes flush, pools close.
 */
export async function startServer(config: Config): Promise<FastifyInstance> {
  // The image library is loaded at its first use (see `loadSharp`); a server loads it now, so an
  // install without its native part does not start, rather than failing every upload.
  await loadSharp()
  const app = await buildApp(config)
  const drainMs = config.SHUTDOWN_DRAIN_SECONDS * 1000
  const grace = closeWithGrace({ delay: drainMs + CLOSE_TIMEOUT_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    app.draining = true
    // A balancer keeps sending until its readiness probe fails; closing the listener first would
    // refuse those requests. Ctrl-C (SIGINT) is someone at a terminal: no wait.
    if (signal === 'SIGTERM' && drainMs > 0) {
      app.log.info({ seconds: config.SHUTDOWN_DRAIN_SECONDS }, 'draining: readiness 503, still serving')
      await sleep(drainMs)
    }
    // Sockets of requests that finish meanwhile are closed as they go idle (close-idle.ts).
    await app.close()
  })
  try {
    await app.listen({ port: config.PORT, host: config.HOST })
  } catch (err) {
    // Close what the start opened (the database first of all: PGlite's files, its lock) before
    // the process exits, and say which setting to change instead of printing a stack.
    grace.uninstall()
    await app.close().catch(() => {})
    const code = (err as NodeJS.ErrnoException).code ?? ''
    const reason = LISTEN_REASONS[code] ?? (err as Error).message
    throw new ListenError(`Cannot listen on ${config.HOST}:${config.PORT} (HOST, PORT): ${reason}`, {
      cause: err,
    })
  }
  return app
}
