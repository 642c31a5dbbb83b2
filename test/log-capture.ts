// A bare Fastify app that logs as the server does, for tests of what reaches the log.
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { loggerOptions } from '../src/platform/observability/logger.js'

/** `app` logs with the server's options (`loggerOptions('info')`); `lines` are its log lines, parsed. */
export function appWithLogCapture(): { app: FastifyInstance; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    },
  })
  const app = Fastify({ logger: { ...(loggerOptions('info') as object), stream } })
  return { app, lines }
}
