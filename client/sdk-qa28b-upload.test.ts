// `media.put` against an upload that stalls: it fails with `TIMEOUT` after the client's
// `timeoutMs` (or the call's), and with `ABORTED` when its `signal` aborts, on `fetch` and on the
// browser's XHR alike; before, nothing ended it and the promise never settled.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { createClient, OvasabiError } from './index.js'

/** The error a call failed with (fails the test when it succeeded). */
async function refusal(call: Promise<unknown>): Promise<OvasabiError> {
  try {
    await call
  } catch (err) {
    assert.ok(err instanceof OvasabiError, `not an OvasabiError: ${String(err)}`)
    return err
  }
  assert.fail('expected the call to be refused')
}

// Without the fix each call never settles: the test's own limit turns that into a failure.
const LIMIT = { timeout: 10_000 }

describe('SDK: media.put to a server that never answers (fetch)', () => {
  let upstream: Server
  let base = ''
  /** The paths of the uploads the server received. */
  const seen: string[] = []
  before(async () => {
    // Takes the bytes, never answers.
    upstream = createServer((req) => {
      seen.push(req.url ?? '')
      req.resume()
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()))
    base = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`
  })
  after(async () => {
    upstream.closeAllConnections()
    await new Promise<void>((r) => upstream.close(() => r()))
  })

  test("TIMEOUT after the client's timeoutMs, or the call's", LIMIT, async () => {
    const fetchImpl = (input: string, init?: RequestInit) => globalThis.fetch(input, init)
    const client = createClient({ baseUrl: base, fetch: fetchImpl, timeoutMs: 100 })
    const err = await refusal(client.media.put('/upload/a', new Uint8Array([1, 2, 3])))
    assert.deepEqual([err.code, err.status], ['TIMEOUT', 0])
    const patient = createClient({ baseUrl: base, fetch: fetchImpl })
    const own = await refusal(
      patient.media.put('/upload/b', new Uint8Array([1]), undefined, { timeoutMs: 100 }),
    )
    assert.equal(own.code, 'TIMEOUT')
    // Whether each reached the server before its 100 ms ran out depends on the machine's load: not checked.
  })

  test('ABORTED when its signal aborts, and not sent when it already had', LIMIT, async () => {
    const client = createClient({
      baseUrl: base,
      fetch: (i, init) => globalThis.fetch(i, init),
      timeoutMs: 0,
    })
    const ctl = new AbortController()
    const call = client.media.put('/upload/c', new Uint8Array([1]), undefined, { signal: ctl.signal })
    while (!seen.includes('/upload/c')) await new Promise((r) => setTimeout(r, 10))
    ctl.abort()
    assert.deepEqual([(await refusal(call)).code], ['ABORTED'])
    const err = await refusal(
      client.media.put('/upload/d', new Uint8Array([1]), undefined, { signal: AbortSignal.abort() }),
    )
    assert.equal(err.code, 'ABORTED')
    // Give a request sent after all the time to arrive: none may.
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(seen.includes('/upload/d'), false)
  })
})

/** A browser's XMLHttpRequest whose upload never finishes: it only ends by `abort()` or its own `timeout`. */
class StalledXhr {
  static all: StalledXhr[] = []
  upload: { onprogress: ((e: unknown) => void) | null } = { onprogress: null }
  onload: (() => void) | null = null
  onerror: (() => void) | null = null
  onabort: (() => void) | null = null
  ontimeout: (() => void) | null = null
  timeout = 0
  status = 0
  responseText = ''
  aborted = false
  sent = false
  constructor() {
    StalledXhr.all.push(this)
  }
  open() {}
  setRequestHeader() {}
  send() {
    this.sent = true
    // What a browser does with a `timeout` set: fires `timeout` (never `load`) once it passes.
    if (this.timeout > 0) setTimeout(() => !this.aborted && this.ontimeout?.(), this.timeout)
  }
  abort() {
    this.aborted = true
    this.onabort?.()
  }
}

describe('SDK: media.put through XHR (a page without an injected fetch)', () => {
  const g = globalThis as { XMLHttpRequest?: unknown }
  before(() => {
    g.XMLHttpRequest = StalledXhr
  })
  after(() => {
    delete g.XMLHttpRequest
  })

  test('TIMEOUT after timeoutMs, the request aborted', LIMIT, async () => {
    const client = createClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 100 })
    const err = await refusal(client.media.put('/upload/x', new Uint8Array([1])))
    assert.deepEqual([err.code, err.status], ['TIMEOUT', 0])
    const xhr = StalledXhr.all.at(-1)!
    assert.ok(xhr.sent)
  })

  test(
    'ABORTED when its signal aborts, the request aborted; none sent when it already had',
    LIMIT,
    async () => {
      const client = createClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 0 })
      const ctl = new AbortController()
      const call = client.media.put('/upload/y', new Uint8Array([1]), undefined, { signal: ctl.signal })
      const xhr = StalledXhr.all.at(-1)!
      ctl.abort()
      assert.equal((await refusal(call)).code, 'ABORTED')
      assert.ok(xhr.aborted)
      const count = StalledXhr.all.length
      const err = await refusal(
        client.media.put('/upload/z', new Uint8Array([1]), undefined, { signal: AbortSignal.abort() }),
      )
      assert.equal(err.code, 'ABORTED')
      assert.ok(StalledXhr.all.slice(count).every((x) => !x.sent))
    },
  )
})
