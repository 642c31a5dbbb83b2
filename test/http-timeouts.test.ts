import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { after, before, describe, it } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { ConfigError, loadConfig } from '../src/config.js'
import { httpTimeouts } from '../src/platform/http/timeouts.js'
import { buildTestApp, JWT_SECRET, type TestContext } from './helper.js'
import { assertClosedWith, DEADLINE_MS, open, sleep, trickle } from './slow-client.js'

/**
 * Slowloris: a client that opens a request and then sends nothing (or a trickle) must not hold
 * its connection for ever; a slow but steady one, or a slow server, must not be cut. Over real
 * sockets, with the deadlines set to 1 s; outcomes are awaited, never timed.
 */

/**
 * Call inside a `describe`: a test app with `env`, listening on a port of 127.0.0.1 during its
 * tests (`port`).
 */
function listeningApp(env: Record<string, string>) {
  const state = { port: 0 }
  let ctx: TestContext
  before(async () => {
    ctx = await buildTestApp({ env })
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    state.port = (ctx.app.server.address() as AddressInfo).port
  })
  after(async () => ctx.close())
  return state
}

/**
 * Call inside a `describe`: a bare Fastify server with these deadlines and the routes `routes`
 * adds, listening on a port of 127.0.0.1 during its tests (`app`, `port`).
 */
function timedServer(deadlines: Parameters<typeof httpTimeouts>[0], routes: (app: FastifyInstance) => void) {
  const state = { app: undefined as unknown as FastifyInstance, port: 0 }
  before(async () => {
    const timeouts = httpTimeouts(deadlines)
    state.app = Fastify({ ...timeouts.options })
    timeouts.watch(state.app)
    routes(state.app)
    await state.app.listen({ port: 0, host: '127.0.0.1' })
    state.port = (state.app.server.address() as AddressInfo).port
  })
  after(async () => state.app.close())
  return state
}

/** Reads `payload` to its end; `done` is given how many bytes it held. */
function countBytes(payload: NodeJS.ReadableStream, done: (err: null, bytes: number) => void) {
  let bytes = 0
  payload.on('data', (c: Buffer) => {
    bytes += c.length
  })
  payload.on('end', () => done(null, bytes))
}

/**
 * `POST /late`: a body the server starts reading late (its storage is slow, a lookup comes
 * first); answers its size.
 */
function addLateRoute(app: FastifyInstance) {
  app.register(async (scope) => {
    scope.addContentTypeParser('application/octet-stream', (_request, payload, done) => {
      setTimeout(() => countBytes(payload, done), 2500)
    })
    scope.post('/late', async (request) => ({ bytes: request.body }))
  })
}

describe('HTTP timeouts of the app', () => {
  const server = listeningApp({ HTTP_HEADERS_TIMEOUT_SECONDS: '1', HTTP_BODY_IDLE_TIMEOUT_SECONDS: '1' })

  it('closes a request whose headers never finish, though a header line keeps coming', async () => {
    const { socket, closed } = open(server.port)
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

  it('closes a connection that never sends a byte, answering nothing (`closed` rejects after DEADLINE_MS)', async () => {
    const { closed } = open(server.port)
    const answer = await closed
    // Nothing was asked, so nothing is answered: the connection is closed, not left open.
    assert.deepEqual(answer, { headers: {} })
  })

  it('answers 408 and closes a JSON body that stops coming', async () => {
    const { socket, closed } = open(server.port)
    const body = JSON.stringify({ email: 'slow@example.com', password: 'not-sent-whole-1' })
    socket.write(
      `POST /api/auth/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n` +
        `content-length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    )
    // The standard error body: the request got an id before its body stopped coming.
    assertClosedWith(await closed, 408, 'REQUEST_TIMEOUT')
  })

  it('keeps the id a client gave its request in the 408', async () => {
    const { socket, closed } = open(server.port)
    socket.write(
      `POST /api/auth/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n` +
        `x-request-id: slow-client-1\r\ncontent-length: 100\r\n\r\n{"email":`,
    )
    const answer = await closed
    assert.equal(answer.status, 408)
    assert.equal(answer.body.request_id, 'slow-client-1')
  })
})

describe('HTTP body rate floor of the app', () => {
  // The idle timeout stays long: only the floor can cut these bodies.
  const server = listeningApp({
    HTTP_BODY_MIN_BYTES_PER_SECOND: '1000',
    HTTP_BODY_MIN_RATE_GRACE_SECONDS: '1',
  })

  it('answers 408 BODY_TOO_SLOW and closes a JSON body that trickles in, never idle', async () => {
    const { socket, closed } = open(server.port)
    const body = Buffer.from(JSON.stringify({ email: 'slow@example.com', password: 'p'.repeat(400) }))
    socket.write(
      `POST /api/auth/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n` +
        `content-length: ${body.length}\r\n\r\n`,
    )
    // 10 bytes/s, a byte every 100 ms: it would take over 40 s.
    void trickle(socket, body, 1, 100)
    assertClosedWith(await closed, 408, 'BODY_TOO_SLOW')
  })
})

describe('HTTP body rate floor configuration', () => {
  it('defaults to 240 bytes/s after 5 s, takes 0 (no floor), refuses what is not a count', () => {
    // With a secret given, loading writes nothing to DATA_DIR.
    const env = { DATA_DIR: tmpdir(), JWT_SECRET }
    const defaults = loadConfig(env)
    assert.equal(defaults.HTTP_BODY_MIN_BYTES_PER_SECOND, 240)
    assert.equal(defaults.HTTP_BODY_MIN_RATE_GRACE_SECONDS, 5)
    const off = loadConfig({ ...env, HTTP_BODY_MIN_BYTES_PER_SECOND: '0' })
    assert.equal(off.HTTP_BODY_MIN_BYTES_PER_SECOND, 0)
    assert.throws(
      () =>
        loadConfig({
          ...env,
          HTTP_BODY_MIN_BYTES_PER_SECOND: '-1',
          HTTP_BODY_MIN_RATE_GRACE_SECONDS: '0',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.match(err.message, /HTTP_BODY_MIN_BYTES_PER_SECOND="-1"/)
        assert.match(err.message, /HTTP_BODY_MIN_RATE_GRACE_SECONDS="0"/)
        return true
      },
    )
  })
})

describe('HTTP timeouts of the server', () => {
  const big = Buffer.alloc(64 * 1024 * 1024)
  // No rate floor: these bodies are slow on purpose (see the floor's own suite below).
  const server = timedServer(
    { headersMs: 1000, bodyIdleMs: 1000, bodyMinBytesPerSecond: 0, bodyRateGraceMs: 1000 },
    (app) => {
      app.get('/slow', async () => {
        await sleep(2500)
        return { ok: true }
      })
      app.get('/big', async (_request, reply) => reply.type('application/octet-stream').send(big))
      app.post('/echo', async (request) => request.body)
      addLateRoute(app)
    },
  )

  it('leaves alone a request whose server takes longer than the idle timeout to answer', async () => {
    const { socket, closed } = open(server.port)
    socket.write('GET /slow HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n')
    const answer = await closed
    assert.equal(answer.status, 200)
    assert.deepEqual(answer.body, { ok: true })
  })

  it('takes a body that comes slowly but steadily, for longer than both deadlines', async () => {
    const { socket, closed } = open(server.port)
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
    const { socket, closed } = open(server.port)
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
    const serverSide = new Promise<Socket>((resolve) => server.app.server.once('connection', resolve))
    const socket = connect(server.port, '127.0.0.1')
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

describe('HTTP head deadline of the server, with a longer idle timeout', () => {
  // Only the head deadline can close a silent connection here (the idle timeout is a minute),
  // so what it answers is seen without racing the socket timeout.
  const server = timedServer(
    { headersMs: 1000, bodyIdleMs: 60_000, bodyMinBytesPerSecond: 0, bodyRateGraceMs: 1000 },
    (app) => {
      app.get('/', async () => ({ ok: true }))
    },
  )

  it('closes a connection that never sends a byte without answering it', async () => {
    const { closed } = open(server.port)
    assert.deepEqual(await closed, { headers: {} })
  })

  it('answers 408 to a head that began and did not finish', async () => {
    const { socket, closed } = open(server.port)
    socket.write('GET / HTTP/1.1\r\nhost: local')
    const answer = await closed
    assert.equal(answer.status, 408, JSON.stringify(answer))
    assert.equal(answer.body.error.code, 'REQUEST_TIMEOUT')
  })
})

describe('HTTP body rate floor of the server', () => {
  const head = (path: string, length: number) =>
    `POST ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/octet-stream\r\n` +
    `connection: close\r\ncontent-length: ${length}\r\n\r\n`
  const server = timedServer(
    { headersMs: 1000, bodyIdleMs: 1000, bodyMinBytesPerSecond: 1000, bodyRateGraceMs: 1000 },
    (app) => {
      app.register(async (scope) => {
        scope.addContentTypeParser('application/octet-stream', (_request, payload, done) =>
          countBytes(payload, done),
        )
        scope.post('/count', async (request) => ({ bytes: request.body }))
      })
      addLateRoute(app)
    },
  )

  it('answers 408 BODY_TOO_SLOW to a body that began fast and then trickles, never idle', async () => {
    const { socket, closed } = open(server.port)
    const body = Buffer.alloc(1024 * 1024)
    // A quarter at once (credit for minutes, were the rate averaged since the body began), then
    // 10 bytes/s.
    socket.write(head('/count', body.length))
    socket.write(body.subarray(0, body.length / 4))
    void trickle(socket, body.subarray(body.length / 4), 1, 100)
    assertClosedWith(await closed, 408, 'BODY_TOO_SLOW')
  })

  it('takes a body that comes slowly but above the floor, for longer than every deadline', async () => {
    const { socket, closed } = open(server.port)
    const body = Buffer.alloc(16 * 1024)
    socket.write(head('/count', body.length))
    // About 4 KiB/s (four times the floor): 4 s in all.
    await trickle(socket, body, 1024, 250)
    const answer = await closed
    assert.equal(answer.status, 200, JSON.stringify(answer))
    assert.deepEqual(answer.body, { bytes: body.length })
  })

  it('does not count against the client the time the server takes to read its body', async () => {
    const { socket, closed } = open(server.port)
    const body = Buffer.alloc(32 * 1024 * 1024)
    socket.write(head('/late', body.length))
    // More than the socket buffers hold: nothing comes while the server does not read.
    socket.write(body)
    const answer = await closed
    assert.equal(answer.status, 200, JSON.stringify(answer))
    assert.deepEqual(answer.body, { bytes: body.length })
  })
})
