import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { createBreaker } from '../src/modules/localization/breaker.js'
import {
  BUSY_RETRY_AFTER_MS,
  createLibreTranslateClient,
  UpstreamBusyError,
  UpstreamUnavailableError,
} from '../src/modules/localization/libretranslate.client.js'
import { listenUpstream } from './fixtures/libretranslate.js'
import { json } from './helper.js'
import { translationSuite } from './localization-fixtures.js'

const LANGUAGES = ['en', 'de', 'fr', 'it', 'es'].map((code) => ({
  code,
  name: code,
  targets: [] as string[],
}))

/**
 * A slow LibreTranslate stand-in: `GET /languages` is answered at once; each `POST /translate` is
 * held open while `hold` is true (until `releaseAll()` or the caller gives up), else answered as
 * `[target] text`. It records the strings it received and the most requests it held at once.
 */
async function startSlowUpstream() {
  const held: Array<() => void> = []
  const state = {
    url: '',
    hold: true,
    /** The `q` strings of every `POST /translate` received. */
    received: [] as string[],
    open: 0,
    maxOpen: 0,
    /** Resolves once `n` translate requests have been received in all. */
    until(n: number) {
      return new Promise<void>((resolve) => {
        const check = () => (state.received.length >= n ? resolve() : setImmediate(check))
        check()
      })
    },
    releaseAll() {
      state.hold = false
      for (const go of held.splice(0)) go()
    },
    close: async () => {},
  }
  const server = createServer(async (req, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    res.setHeader('content-type', 'application/json')
    if (req.method === 'GET') return res.end(JSON.stringify(LANGUAGES))
    const { q, target } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const texts: string[] = Array.isArray(q) ? q : [q]
    state.open++
    state.maxOpen = Math.max(state.maxOpen, state.open)
    let done = false
    const finished = () => {
      if (!done) state.open--
      done = true
    }
    // Given up by the caller, or answered.
    res.on('close', finished)
    state.received.push(...texts)
    const answer = () => {
      finished()
      const out = texts.map((t) => `[${target}] ${t}`)
      res.end(JSON.stringify({ translatedText: Array.isArray(q) ? out : out[0] }))
    }
    if (state.hold) held.push(answer)
    else answer()
  })
  Object.assign(state, await listenUpstream(server))
  return state
}

describe('localization QA 24b: a call waits for an upstream slot for a bounded time', () => {
  let upstream: Awaited<ReturnType<typeof startSlowUpstream>>
  before(async () => {
    upstream = await startSlowUpstream()
  })
  after(() => upstream.close())

  it('gives up waiting with a retryable error, asks nothing, and leaves the slots counted right', {
    timeout: 60_000,
  }, async () => {
    const client = createLibreTranslateClient({
      url: upstream.url,
      // The upstream's own timeout is far away: only the wait for a slot can end the second call.
      timeoutMs: 60_000,
      retries: 0,
      maxConcurrent: 1,
      maxSlotWaitMs: 50,
      breaker: createBreaker({ threshold: 100, cooldownMs: 60_000 }),
    })
    const first = client.translate(['first'], 'en', 'de', 'text')
    await upstream.until(1)
    // The one slot is taken by a call the upstream holds open.
    const waiting = await client.translate(['second'], 'en', 'de', 'text').then(
      () => undefined,
      (err: unknown) => err,
    )
    assert.ok(waiting instanceof UpstreamUnavailableError, String(waiting))
    assert.match((waiting as Error).message, /no upstream slot came free/)
    assert.ok(((waiting as UpstreamUnavailableError).retryAfterMs ?? 0) > 0)
    assert.ok(!upstream.received.includes('second'), 'the call that gave up was sent anyway')

    upstream.releaseAll()
    assert.deepEqual((await first).texts, ['[de] first'])
    // The slot that was given up was not kept: calls one after another each find it free.
    for (const q of ['third', 'fourth']) {
      assert.deepEqual((await client.translate([q], 'en', 'fr', 'text')).texts, [`[fr] ${q}`])
    }
    // Nor counted twice: of two calls at once behind a held one, one runs and the other gives up.
    upstream.hold = true
    const pair = ['fifth', 'sixth'].map((q) =>
      client.translate([q], 'en', 'fr', 'text').then(
        (r) => r.texts[0] as string,
        (err: Error) => err.message,
      ),
    )
    await upstream.until(4)
    // The held one cannot settle before it is released: the first to settle is the one that waited.
    assert.match(await Promise.race(pair), /no upstream slot came free/)
    upstream.releaseAll()
    const outcomes = await Promise.all(pair)
    assert.equal(outcomes.filter((o) => /^\[fr\] (fifth|sixth)$/.test(o)).length, 1, JSON.stringify(outcomes))
    assert.equal(upstream.maxOpen, 1)
    assert.equal(upstream.received.filter((q) => q === 'fifth' || q === 'sixth').length, 1)
    assert.ok(!upstream.received.includes('second'))
  })
})

describe('localization QA 24b: a full queue says when to come back', () => {
  let upstream: Awaited<ReturnType<typeof startSlowUpstream>>
  before(async () => {
    upstream = await startSlowUpstream()
  })
  after(() => upstream.close())

  it('a call turned away by a full queue is retryable after a second, and is never sent', async () => {
    const client = createLibreTranslateClient({
      url: upstream.url,
      timeoutMs: 60_000,
      retries: 0,
      maxConcurrent: 1,
      maxWaiting: 0,
      breaker: createBreaker({ threshold: 100, cooldownMs: 60_000 }),
    })
    const first = client.translate(['first'], 'en', 'de', 'text')
    await upstream.until(1)
    const turnedAway = await client.translate(['second'], 'en', 'de', 'text').then(
      () => undefined,
      (err: unknown) => err,
    )
    assert.ok(turnedAway instanceof UpstreamBusyError, String(turnedAway))
    assert.equal(turnedAway.retryAfterMs, BUSY_RETRY_AFTER_MS)
    upstream.releaseAll()
    assert.deepEqual((await first).texts, ['[de] first'])
    assert.ok(!upstream.received.includes('second'))
  })
})

describe('localization QA 24b: POST /api/translate behind a slow upstream answers 503 with Retry-After', () => {
  // The wait for a slot is bounded by the request timeout (here 2 s); one slot, no retries.
  const suite = translationSuite('pglite', startSlowUpstream, {
    LIBRETRANSLATE_TIMEOUT_MS: '2000',
    LIBRETRANSLATE_MAX_CONCURRENCY: '1',
    LIBRETRANSLATE_RETRIES: '0',
    LIBRETRANSLATE_BATCH_WINDOW_MS: '0',
  })

  it('answers TRANSLATION_UNAVAILABLE with the fallback when no slot comes free in time', {
    timeout: 120_000,
  }, async () => {
    const { translate } = suite
    const first = translate({ q: 'held one', source: 'en', target: 'de' })
    await suite.upstream.until(1)
    // Two more, queued behind the held one: the first of them gets the slot when the held one
    // times out and is held in turn; the other's wait runs out before that slot comes free.
    const queued = [
      translate({ q: 'queued one', source: 'en', target: 'fr' }),
      translate({ q: 'queued two', source: 'en', target: 'it' }),
    ]
    const answers = await Promise.all([first, ...queued])
    for (const res of answers) {
      assert.equal(res.statusCode, 503, res.body)
      assert.equal(json(res).error.code, 'TRANSLATION_UNAVAILABLE', res.body)
    }
    const gaveUp = answers
      .slice(1)
      .filter((res) => /no upstream slot came free/.test(json(res).error.details?.reason))
    assert.ok(gaveUp.length >= 1, answers.map((r) => r.body).join('\n'))
    for (const res of gaveUp) {
      const body = json(res).error
      assert.ok(['queued one', 'queued two'].includes(body.details.fallback), res.body)
      assert.ok(Number(res.headers['retry-after']) >= 1, JSON.stringify(res.headers))
      assert.ok(body.details.retry_after_ms > 0, res.body)
      assert.ok(!suite.upstream.received.includes(body.details.fallback), 'the call that gave up was sent')
    }

    // The slot is free again: the next request is answered.
    suite.upstream.releaseAll()
    const next = await translate({ q: 'after the wait', source: 'en', target: 'es' })
    assert.equal(next.statusCode, 200, next.body)
    assert.equal(json(next).translations[0].text, '[es] after the wait')
  })
})
