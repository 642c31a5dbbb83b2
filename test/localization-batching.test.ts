import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { createBatcher } from '../src/modules/localization/batcher.js'
import { createBreaker } from '../src/modules/localization/breaker.js'
import {
  createLibreTranslateClient,
  UpstreamRejectedError,
  UpstreamUnavailableError,
} from '../src/modules/localization/libretranslate.client.js'
import { fakeTranslation, listenUpstream } from './fixtures/libretranslate.js'
import { DIALECTS, json } from './helper.js'
import { translationSuite } from './localization-fixtures.js'

const tag = () => randomBytes(3).toString('hex')
const chars = (batch: string[]) => batch.reduce((n, s) => n + s.length, 0)

/**
 * A LibreTranslate stand-in whose next answers can be any status, as a real instance behind a
 * proxy gives them: 400/422 as `{"error"}`, 413 as the proxy's HTML page, 5xx from the engine.
 */
async function startUpstream() {
  const failures: number[] = []
  const state = {
    url: '',
    calls: 0,
    batches: [] as string[][],
    failNext: (count: number, status: number) =>
      failures.push(...Array.from({ length: count }, () => status)),
    close: async () => {},
  }
  const server = createServer(async (req, res) => {
    const body: Buffer[] = []
    for await (const c of req) body.push(c as Buffer)
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end('[{"code":"en","name":"English","targets":["de"]}]')
    }
    state.calls++
    const status = failures.shift()
    if (status === 413) {
      res.writeHead(413, { 'content-type': 'text/html' })
      return res.end('<html><body><h1>413 Request Entity Too Large</h1></body></html>')
    }
    if (status) {
      res.writeHead(status, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ error: status < 500 ? 'Invalid request' : 'Cannot translate text' }))
    }
    const { q, target, format } = JSON.parse(Buffer.concat(body).toString('utf8'))
    const texts: string[] = Array.isArray(q) ? q : [q]
    state.batches.push(texts)
    const out = texts.map((t) => fakeTranslation(t, target, format))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ translatedText: Array.isArray(q) ? out : out[0] }))
  })
  Object.assign(state, await listenUpstream(server))
  return state
}

describe('localization batching and breaker (client level)', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>
  before(async () => {
    up = await startUpstream()
  })
  after(() => up.close())

  const clientWith = (breaker: ReturnType<typeof createBreaker>) =>
    createLibreTranslateClient({ url: up.url, timeoutMs: 2000, retries: 0, breaker })

  it('splits long strings into batches under the character cap, a longer string alone, in order', async () => {
    const client = clientWith(createBreaker({ threshold: 5, cooldownMs: 60_000 }))
    const batcher = createBatcher({ client, windowMs: 20, limit: 50, maxChars: 2000 })
    const texts = Array.from({ length: 12 }, (_, i) => `${i} ${tag()} ${'long text '.repeat(70)}`)
    texts.splice(5, 0, `huge ${tag()} ${'x'.repeat(3000)}`)
    texts.push(`short ${tag()}`)
    const calls = up.calls
    const results = await Promise.all(texts.map((t) => batcher.translate(t, 'en', 'de', 'text')))
    assert.deepEqual(
      results.map((r) => r.text),
      texts.map((t) => fakeTranslation(t, 'de', 'text')),
    )
    const batches = up.batches.slice(-(up.calls - calls))
    assert.ok(batches.length >= 6, `${texts.length} strings went in ${batches.length} calls`)
    for (const b of batches) assert.ok(b.length === 1 || chars(b) <= 2000, `a batch of ${chars(b)} chars`)
    assert.ok(
      batches.some((b) => b.length === 1 && b[0] === texts[5]),
      'the huge string went alone',
    )
    assert.deepEqual(batches.flat().sort(), [...texts].sort(), 'every string sent once')
  })

  it('does not open the circuit on 400, 413 or 422, and still does on repeated 5xx', async () => {
    const breaker = createBreaker({ threshold: 2, cooldownMs: 60_000 })
    const client = clientWith(breaker)
    for (const status of [413, 413, 413, 422, 422, 400, 400]) {
      up.failNext(1, status)
      const err = await client.translate([`big ${tag()}`], 'en', 'de', 'text').catch((e) => e)
      assert.ok(err instanceof UpstreamRejectedError, String(err))
      assert.equal(err.status, status)
      assert.doesNotMatch(err.message, /<html/, 'a proxy page is not the message')
      assert.equal(breaker.state(), 'closed', `after ${status}`)
    }
    const calls = up.calls
    const ok = await client.translate(['fine'], 'en', 'de', 'text')
    assert.deepEqual(ok.texts, ['[de] FINE'])
    assert.equal(up.calls, calls + 1, 'a good request still goes upstream')

    up.failNext(2, 503)
    for (let i = 0; i < 2; i++) {
      const err = await client.translate([`x ${tag()}`], 'en', 'de', 'text').catch((e) => e)
      assert.ok(err instanceof UpstreamUnavailableError)
    }
    assert.equal(breaker.state(), 'open')
    const before = up.calls
    await assert.rejects(client.translate(['fine'], 'en', 'de', 'text'), /circuit is open/)
    assert.equal(up.calls, before)
  })

  it('a half-open trial refused for its input leaves the next call as the trial', async () => {
    let now = 0
    const breaker = createBreaker({ threshold: 1, cooldownMs: 1000, now: () => now })
    const client = clientWith(breaker)
    up.failNext(1, 500)
    await assert.rejects(client.translate(['a'], 'en', 'de', 'text'), UpstreamUnavailableError)
    assert.equal(breaker.state(), 'open')
    now += 1000
    up.failNext(1, 413)
    await assert.rejects(client.translate(['a'], 'en', 'de', 'text'), UpstreamRejectedError)
    assert.equal(breaker.state(), 'half_open')
    await client.translate(['a'], 'en', 'de', 'text')
    assert.equal(breaker.state(), 'closed')
  })
})

describe('localization upstream concurrency', () => {
  it('sends at most maxConcurrent calls at once and refuses past maxWaiting without opening the breaker', async () => {
    let inFlight = 0
    let most = 0
    const held: Array<() => void> = []
    const server = createServer(async (req, res) => {
      const body: Buffer[] = []
      for await (const c of req) body.push(c as Buffer)
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise<void>((resolve) => held.push(resolve))
      inFlight--
      const { q } = JSON.parse(Buffer.concat(body).toString('utf8'))
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ translatedText: q }))
    })
    const upstream = await listenUpstream(server)
    try {
      const breaker = createBreaker({ threshold: 1, cooldownMs: 60_000 })
      const client = createLibreTranslateClient({
        url: upstream.url,
        timeoutMs: 30_000,
        retries: 0,
        breaker,
        maxConcurrent: 2,
        maxWaiting: 3,
      })
      const calls = Array.from({ length: 8 }, (_, i) =>
        client.translate([`text ${i}`], 'en', 'de', 'text').then(
          (r) => ({ ok: r.texts[0] }),
          (err: Error) => ({ err }),
        ),
      )
      // Two reach the upstream, three wait, three are refused at once.
      const until = async (done: () => boolean) => {
        for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10))
        assert.ok(done())
      }
      await until(() => held.length === 2)
      for (let answered = 0; answered < 5; answered++) {
        await until(() => held.length > 0)
        held.shift()!()
      }
      const results = await Promise.all(calls)
      assert.equal(most, 2)
      const refused = results.filter((r) => 'err' in r)
      assert.equal(refused.length, 3)
      for (const r of refused) assert.ok((r as { err: Error }).err instanceof UpstreamUnavailableError)
      assert.deepEqual(
        results.filter((r) => 'ok' in r).map((r) => (r as { ok: string }).ok),
        ['text 0', 'text 1', 'text 2', 'text 3', 'text 4'],
      )
      // Being busy here says nothing about the upstream: the circuit stays closed.
      assert.equal(breaker.allow(), true)
    } finally {
      for (const release of held) release()
      await upstream.close()
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`localization batching and breaker (${dialect})`, () => {
    const suite = translationSuite(dialect, startUpstream, {
      LIBRETRANSLATE_RETRIES: '0',
      LIBRETRANSLATE_BREAKER_THRESHOLD: '2',
      LIBRETRANSLATE_BREAKER_COOLDOWN_MS: '600000',
    })
    const { translate } = suite

    it('sends a request of many long strings as several calls of at most 5,000 characters', async () => {
      const q = Array.from({ length: 10 }, (_, i) => `${i} ${tag()} ${'y'.repeat(4880)}`)
      const calls = suite.upstream.calls
      const res = await translate({ q, source: 'en', target: 'de' })
      assert.equal(res.statusCode, 200, res.body.slice(0, 300))
      assert.deepEqual(
        json(res).translations.map((t: any) => [t.index, t.text]),
        q.map((s, i) => [i, fakeTranslation(s, 'de', 'text')]),
      )
      const batches = suite.upstream.batches.slice(-(suite.upstream.calls - calls))
      assert.ok(batches.length >= 10, `${batches.length} calls`)
      for (const b of batches) assert.ok(chars(b) <= 5000, `a batch of ${chars(b)} chars`)
    })

    it('answers 422 TRANSLATION_REJECTED for an oversized batch without opening the circuit', async () => {
      suite.upstream.failNext(3, 413)
      for (let i = 0; i < 3; i++) {
        const res = await translate({ q: `too big ${tag()}`, source: 'en', target: 'de' })
        assert.equal(res.statusCode, 422, res.body)
        assert.equal(json(res).error.code, 'TRANSLATION_REJECTED')
      }
      const calls = suite.upstream.calls
      const ok = await translate({ q: `fine ${tag()}`, source: 'en', target: 'de' })
      assert.equal(ok.statusCode, 200, ok.body)
      assert.equal(json(ok).translations[0].provider, 'libretranslate')
      assert.equal(suite.upstream.calls, calls + 1)

      suite.upstream.failNext(2, 502)
      for (let i = 0; i < 2; i++) {
        const res = await translate({ q: `down ${tag()}`, source: 'en', target: 'de' })
        assert.equal(json(res).error.code, 'TRANSLATION_UNAVAILABLE')
      }
      const before = suite.upstream.calls
      const open = await translate({ q: `open ${tag()}`, source: 'en', target: 'de' })
      assert.equal(open.statusCode, 503)
      assert.match(json(open).error.details.reason, /circuit is open/)
      assert.equal(suite.upstream.calls, before)
    })
  })
}
