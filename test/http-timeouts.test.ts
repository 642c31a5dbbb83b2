import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { httpTimeouts } from '../src/platform/http/timeouts.js'
import { buildTestApp, type TestContext } from './helper.js'

/**
 * Slowloris: a client that opens a request and then sends nothing (or a trickle) must not hold
 * its connection for ever; a slow but steady one, or a slow server, must not be cut. Over real
 * sockets, with the deadlines set to 1 s; outcomes are awaited, never timed.
 */

const DEADLINE_MS = 20_000

interface Answer {
  status?: number
  body?: any
}

/** A raw connection: what it received by the time the server closed it. */
function open(port: number): { socket: Socket; closed: Promise<Answer> } {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (c) => chunks.push(c))
  socket.on('error', () => {})
  const closed = new Promise<Answer>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('the server never closed the connection'))
    }, DEADLINE_MS)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(parse(Buffer.concat(chunks).toString()))
    })
  })
  return { socket, closed }
}

function parse(text: string): Answer {
  if (!text) return {}
  const [head, body] = text.split('\r\n\r\n', 2) as [string, string | undefined]
  return { status: Number(head.split(' ')[1]), body: body ? JSON.parse(body) : undefined }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('HTTP timeouts of the app', () => {
  let ctx: TestContext
  let port: number

  before(async () => {
    ctx = await buildTestApp({
      env: { HTTP_HEADERS_TIMEOUT_SECONDS: '1', HTTP_BODY_IDLE_TIMEOUT_SECONDS: '1' },
    })
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    port = (ctx.app.server.address() as AddressInfo).port
  })
  after(async () => ctx.close())

  it('closes a request whose headers never finish, though a header line keeps coming', async () => {
    const { socket, closed } = open(port)
    socket.write('GET /health HTTP/1.1\r\nhost: localhost\r\n')
    let n = 0
    const trickle = setInterval(() => socket.writable && socket.write(`x-slow-${n++}: 1\r\n`), 200)
    try {
      const answer = await closed
      assert.equal(answer.status, 408)
      assert.equal(answer.body.status, 'error')
      assert.equal(answer.body.error.code, 'REQUEST_TIMEOUT')
    } finally {
      clearInterval(trickle)
    }
  })

  it('closes a connection that never sends a byte', async () => {
    const { closed } = open(port)
    await closed
  })

  it('answers 408 and closes a JSON body that stops coming', async () => {
    const { socket, closed } = open(port)
    const body = JSON.stringify({ email: 'slow@example.com', password: 'not-sent-whole-1' })
    socket.write(
      `POST /api/auth/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n` +
        `content-length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    )
    const answer = await closed
    assert.equal(answer.status, 408)
    assert.equal(answer.body.error.code, 'REQUEST_TIMEOUT')
  })
})

describe('HTTP timeouts of the server', () => {
  let app: FastifyInstance
  let port: number
  const big = Buffer.alloc(64 * 1024 * 1024)

  before(async () => {
    const timeouts = httpTimeouts({ headersMs: 1000, bodyIdleMs: 1000 })
    app = Fastify({ ...timeouts.options })
    timeouts.watch(app)
    app.get('/slow', async () => {
      await sleep(2500)
      return { ok: true }
    })
    app.get('/big', async (_request, reply) => reply.type('application/octet-stream').send(big))
    app.post('/echo', async (request) => request.body)
    // A body the server starts reading late (its storage is slow, a lookup comes first).
    app.register(async (scope) => {
      scope.addContentTypeParser('application/octet-stream', (_request, payload, done) => {
        setTimeout(() => {
          let bytes = 0
          payload.on('data', (c: Buffer) => {
            bytes += c.length
          })
          payload.on('end', () => done(null, bytes))
        }, 2500)
      })
      scope.post('/late', async (request) => ({ bytes: request.body }))
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as AddressInfo).port
  })
  after(async () => app.close())

  it('leaves alone a request whose server takes longer than the idle timeout to answer', async () => {
    const { socket, closed } = open(port)
    socket.write('GET /slow HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n')
    const answer = await closed
    assert.equal(answer.status, 200)
    assert.deepEqual(answer.body, { ok: true })
  })

  it('takes a body that comes slowly but steadily, for longer than both deadlines', async () => {
    const { socket, closed } = open(port)
    const body = JSON.stringify({ text: 'a'.repeat(60) })
    socket.write(
      `POST /echo HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nconnection: close\r\n` +
        `content-length: ${body.length}\r\n\r\n`,
    )
    // 3 bytes every 200 ms: over 4 s in all, never 1 s without a byte.
    for (let i = 0; i < body.length; i += 3) {
      socket.write(body.slice(i, i + 3))
      await sleep(200)
    }
    const answer = await closed
    assert.equal(answer.status, 200)
    assert.equal(answer.body.text, 'a'.repeat(60))
  })

  it('does not count against the client the time the server takes to read its body', async () => {
    const { socket, closed } = open(port)
    const body = Buffer.alloc(32 * 1024 * 1024)
    socket.write(
      `POST /late HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/octet-stream\r\n` +
        `connection: close\r\ncontent-length: ${body.length}\r\n\r\n`,
    )
    // More than the socket buffers hold: the client waits on the server, not the other way round.
    socket.write(body)
    const answer = await closed
    assert.equal(answer.status, 200)
    assert.deepEqual(answer.body, { bytes: body.length })
  })

  it('closes a connection whose client stops reading its answer', async () => {
    const serverSide = new Promise<Socket>((resolve) => app.server.once('connection', resolve))
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.write('GET /big HTTP/1.1\r\nhost: localhost\r\n\r\n')
    // Read the first bytes (the answer began), then nothing.
    await new Promise((r) => socket.once('data', r))
    socket.pause()
    const theirs = await serverSide
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server kept the connection')), DEADLINE_MS)
      if (theirs.destroyed) resolve()
      theirs.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    socket.destroy()
  })
})
