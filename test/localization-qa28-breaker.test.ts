import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import { describe, it } from 'node:test'
import { createBreaker } from '../src/modules/localization/breaker.js'
import {
  createLibreTranslateClient,
  UpstreamSlotTimeoutError,
} from '../src/modules/localization/libretranslate.client.js'
import { listenUpstream } from './fixtures/libretranslate.js'

/**
 * An upstream whose `/translate` fails (500) until `healthy`, and whose `/languages` answers only
 * when the test lets it: a health probe held there keeps the node's one upstream slot.
 */
async function startUpstream() {
  const held: ServerResponse[] = []
  const state = {
    healthy: false,
    translateCalls: 0,
    /** Answers every `/languages` call held so far. */
    releaseLanguages() {
      for (const res of held.splice(0)) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify([{ code: 'en', name: 'English', targets: ['fr'] }]))
      }
    },
    heldLanguages: () => held.length,
  }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    if (req.url === '/languages') {
      held.push(res)
      return
    }
    state.translateCalls++
    res.writeHead(state.healthy ? 200 : 500, { 'content-type': 'application/json' })
    if (!state.healthy) return res.end(JSON.stringify({ error: 'Cannot translate text: model crashed' }))
    const { q } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { q: string[] }
    res.end(JSON.stringify({ translatedText: q.map((t) => `[fr] ${t}`) }))
  })
  return Object.assign(state, await listenUpstream(server))
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5))
}

describe('localization QA 28: a half-open trial that never reached the upstream', () => {
  it('leaves the next call to be the trial, so the circuit can close again', async () => {
    const upstream = await startUpstream()
    try {
      let now = 0
      const breaker = createBreaker({ threshold: 1, cooldownMs: 1_000, now: () => now })
      const client = createLibreTranslateClient({
        url: upstream.url,
        timeoutMs: 5_000,
        retries: 0,
        breaker,
        maxConcurrent: 1,
        // The trial gives up waiting for the slot the probe holds.
        maxSlotWaitMs: 20,
      })
      await assert.rejects(client.translate(['Hi'], 'en', 'fr', 'text'), /500/)
      assert.equal(breaker.state(), 'open')

      now += 2_000 // the cooldown is over: the next call is the half-open trial
      const probe = client.languages({ probe: true })
      await until(() => upstream.heldLanguages() === 1)
      await assert.rejects(client.translate(['Hi'], 'en', 'fr', 'text'), UpstreamSlotTimeoutError)
      const calls = upstream.translateCalls

      upstream.releaseLanguages()
      await probe
      upstream.healthy = true
      // The trial asked nothing of the upstream, so it decided nothing: the next call asks it.
      const res = await client.translate(['Hi'], 'en', 'fr', 'text')
      assert.deepEqual(res.texts, ['[fr] Hi'])
      assert.equal(upstream.translateCalls, calls + 1)
      assert.equal(breaker.state(), 'closed')
    } finally {
      upstream.releaseLanguages()
      await upstream.close()
    }
  })
})
