import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { createBatcher, DEFAULT_MEMO_MAX_BYTES } from '../src/modules/localization/batcher.js'
import { createBreaker } from '../src/modules/localization/breaker.js'
import { createLibreTranslateClient } from '../src/modules/localization/libretranslate.client.js'
import { listenUpstream } from './fixtures/libretranslate.js'

/** A LibreTranslate stand-in answering each string as `[target] STRING`, counting the strings sent. */
async function startUpstream() {
  const state = { url: '', sent: [] as string[], close: async () => {} }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const { q, target } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const texts: string[] = Array.isArray(q) ? q : [q]
    state.sent.push(...texts)
    const out = texts.map((t) => `[${target}] ${t.toUpperCase()}`)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ translatedText: Array.isArray(q) ? out : out[0] }))
  })
  Object.assign(state, await listenUpstream(server))
  return state
}

/** A distinct string of `length` characters. */
const big = (i: number, length = 5000) => `string ${i} `.padEnd(length, 'x')

describe('localization QA 24b: the batcher memo is bounded by size, least recently used out first', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>
  const client = () =>
    createLibreTranslateClient({
      url: upstream.url,
      timeoutMs: 10_000,
      retries: 0,
      breaker: createBreaker({ threshold: 100, cooldownMs: 60_000 }),
    })
  before(async () => {
    upstream = await startUpstream()
  })
  after(() => upstream.close())

  it('keeps a flood of 5,000-character strings within the default bound', async () => {
    const batcher = createBatcher({ client: client(), windowMs: 0, limit: 50 })
    // About 20 KB each as estimated: well past 4 MB in all (10,000 of them were 100–200 MB).
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => batcher.translate(big(round * 100 + i), 'en', 'de', 'text')),
      )
      const { entries, bytes } = batcher.memoSize()
      assert.ok(bytes <= DEFAULT_MEMO_MAX_BYTES, `${bytes} bytes in ${entries} entries`)
      assert.ok(entries > 0)
    }
    // The bound is no more than a few megabytes.
    assert.ok(DEFAULT_MEMO_MAX_BYTES <= 16 * 1024 * 1024)
    // And every string was still answered.
    const last = await batcher.translate(big(399), 'en', 'de', 'text')
    assert.equal(last.text, `[de] ${big(399).toUpperCase()}`)
  })

  it('holds as much as a small bound allows, forgetting the least recently used first', async () => {
    // Each entry is over 20,000 bytes as estimated (key and translation, 2 bytes a character):
    // four fit in 100,000, five do not.
    const batcher = createBatcher({ client: client(), windowMs: 0, limit: 50, memoMaxBytes: 100_000 })
    const ask = (i: number) => batcher.translate(big(1000 + i), 'en', 'fr', 'text')
    const sentOf = (i: number) => upstream.sent.filter((t) => t === big(1000 + i)).length
    for (const i of [1, 2, 3, 4]) await ask(i)
    assert.equal(batcher.memoSize().entries, 4)
    // 1 is asked again (from the memo), so 2 is now the one used longest ago.
    await ask(1)
    assert.equal(sentOf(1), 1)
    await ask(5)
    const { entries, bytes } = batcher.memoSize()
    assert.ok(bytes <= 100_000, `${bytes} bytes in ${entries} entries`)
    assert.equal(entries, 4)
    // 1, 3, 4 and 5 are answered from the memo; 2 went out and goes upstream again.
    for (const i of [1, 3, 4, 5]) await ask(i)
    for (const i of [1, 3, 4, 5]) assert.equal(sentOf(i), 1, `string ${i} went upstream again`)
    await ask(2)
    assert.equal(sentOf(2), 2)
  })

  it('keeps no entry larger than the whole bound', async () => {
    const batcher = createBatcher({ client: client(), windowMs: 0, limit: 50, memoMaxBytes: 5_000 })
    await batcher.translate(big(2001), 'en', 'it', 'text')
    assert.deepEqual(batcher.memoSize(), { entries: 0, bytes: 0 })
  })
})
