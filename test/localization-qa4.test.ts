// Localization, fourth QA pass: the health check's probe of LibreTranslate (`GET /languages`) is
// not translation traffic, so the circuit breaker neither counts it nor lets it decide: a failing
// probe must not open the circuit for translations, and a succeeding one must not close it while
// `/translate` is what fails.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { describe, it } from 'node:test'
import { fakeTranslation, listenUpstream } from './fixtures/libretranslate.js'
import { DIALECTS, json } from './helper.js'
import { translationSuite } from './localization-fixtures.js'
import { waitFor } from './wait-for.js'

const tag = () => randomBytes(3).toString('hex')

/**
 * A LibreTranslate stand-in on a real port whose `GET /languages` and `POST /translate` fail
 * (500, LibreTranslate's error shape) independently, counting each.
 */
async function startSplitUpstream() {
  const state = {
    url: '',
    languagesDown: false,
    translateDown: false,
    languagesCalls: 0,
    translateCalls: 0,
    close: async () => {},
  }
  const send = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'GET' && path === '/languages') {
      state.languagesCalls++
      if (state.languagesDown) return send(res, 500, { error: 'languages unavailable' })
      return send(res, 200, [
        { code: 'en', name: 'English', targets: ['fr'] },
        { code: 'fr', name: 'French', targets: ['en'] },
      ])
    }
    if (req.method !== 'POST' || path !== '/translate') return send(res, 404, { error: 'Not Found' })
    state.translateCalls++
    if (state.translateDown) return send(res, 500, { error: 'Cannot translate text: engine is down' })
    const { q, target, format } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const texts: string[] = Array.isArray(q) ? q : [q]
    const out = texts.map((t) => fakeTranslation(t, target, format ?? 'text'))
    return send(res, 200, { translatedText: Array.isArray(q) ? out : out[0] })
  })
  Object.assign(state, await listenUpstream(server))
  return state
}

for (const dialect of DIALECTS) {
  describe(`localization QA4: health probes and the circuit breaker (${dialect})`, () => {
    // One failure opens the circuit: a single probe counted would show at once.
    const suite = translationSuite(dialect, startSplitUpstream, {
      LIBRETRANSLATE_RETRIES: '0',
      LIBRETRANSLATE_BREAKER_THRESHOLD: '1',
      LIBRETRANSLATE_BREAKER_COOLDOWN_MS: '300',
    })
    const translation = async () =>
      json(await suite.ctx.app.inject({ method: 'GET', url: '/health' })).dependencies.translation
    /** The breaker's state as `/metrics` tells it: 0 closed, 1 half-open, 2 open. */
    const breakerState = async () => {
      const text = (await suite.ctx.app.inject({ method: 'GET', url: '/metrics' })).body
      const line = text.split('\n').find((l) => l.startsWith('ovasabi_translation_breaker_state '))
      return line === undefined ? 0 : Number(line.split(' ')[1])
    }

    it('a failing health probe does not open the circuit for translations', async () => {
      // A first translation: the language list is fetched (and cached) by real traffic.
      const first = await suite.translate({ q: `Hello ${tag()}`, source: 'en', target: 'fr' })
      assert.equal(first.statusCode, 200, first.body)

      suite.upstream.languagesDown = true
      const probesBefore = suite.upstream.languagesCalls
      // Once the last answer expires, a probe asks the upstream and reads it as down.
      await waitFor(async () => (await translation()).status === 'down')
      assert.ok(suite.upstream.languagesCalls > probesBefore, 'a probe asked GET /languages')
      assert.doesNotMatch((await translation()).details, /circuit open/)
      assert.equal(await breakerState(), 0, 'the probe’s failure was not counted')

      const calls = suite.upstream.translateCalls
      const res = await suite.translate({ q: `Still here ${tag()}`, source: 'en', target: 'fr' })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).translations[0].provider, 'libretranslate')
      assert.equal(suite.upstream.translateCalls, calls + 1, 'the translation went to the upstream')
      suite.upstream.languagesDown = false
    })

    it('a succeeding health probe neither closes an open circuit nor takes its half-open trial', async () => {
      suite.upstream.languagesDown = false
      suite.upstream.translateDown = true
      const failed = await suite.translate({ q: `Down ${tag()}`, source: 'en', target: 'fr' })
      assert.equal(failed.statusCode, 503, failed.body)
      assert.equal(await breakerState(), 2)

      // After the cool-down the circuit is half-open, and once the last answer expires a probe asks
      // the upstream (whose language list answers) and reads it as up.
      const probesBefore = suite.upstream.languagesCalls
      await waitFor(
        async () => (await translation()).status === 'up' && suite.upstream.languagesCalls > probesBefore,
      )
      assert.equal(await breakerState(), 1, 'still half-open: only a translation decides')

      // The trial is a translation's: it goes to the upstream, fails, and the circuit opens again.
      const calls = suite.upstream.translateCalls
      const trial = await suite.translate({ q: `Trial ${tag()}`, source: 'en', target: 'fr' })
      assert.equal(trial.statusCode, 503, trial.body)
      assert.equal(suite.upstream.translateCalls, calls + 1, 'the half-open trial was the translation’s')
      assert.equal(await breakerState(), 2)

      // Recovered: the next trial closes it.
      suite.upstream.translateDown = false
      await waitFor(async () => {
        const r = await suite.translate({ q: 'recovered', source: 'en', target: 'fr' })
        return r.statusCode === 200
      })
      assert.equal(await breakerState(), 0)
    })
  })
}
