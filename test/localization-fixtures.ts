// What the localization suites share: a test app translating through an upstream of the suite's
// choosing (the fake LibreTranslate, or a scripted stand-in), and a guest asking it.
import { createServer } from 'node:http'
import { after, before } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { listenUpstream } from './fixtures/libretranslate.js'
import { buildTestApp, type Dialect, guestToken, type TestContext } from './helper.js'

/** An upstream a suite's app translates through: its `http://…` URL, and how to stop it. */
export interface Upstream {
  url: string
  close(): Promise<void>
}

export interface TranslationSuite<U extends Upstream> {
  /** The upstream, started before the suite's tests. */
  readonly upstream: U
  /** The test app on `dialect`, with `LIBRETRANSLATE_URL` set to the upstream's. */
  readonly ctx: TestContext
  /** A guest session's `authorization` header. */
  readonly auth: Record<string, string>
  /** `POST /api/translate` with `payload`, as the guest. */
  translate(payload: Record<string, unknown>): Promise<LightMyRequestResponse>
}

/**
 * Call inside a `describe`: before its tests, starts an upstream with `start` and a test app on
 * `dialect` translating through it (with `env` on top), and makes a guest session; after them,
 * closes the app, then the upstream.
 */
export function translationSuite<U extends Upstream>(
  dialect: Dialect,
  start: () => Promise<U>,
  env: Record<string, string> = {},
): TranslationSuite<U> {
  let upstream: U
  let ctx: TestContext
  let auth: Record<string, string>
  before(async () => {
    upstream = await start()
    ctx = await buildTestApp({ dialect, env: { LIBRETRANSLATE_URL: upstream.url, ...env } })
    auth = { authorization: `Bearer ${(await guestToken(ctx.app)).token}` }
  })
  after(async () => {
    await ctx.close()
    await upstream.close()
  })
  return {
    get upstream() {
      return upstream
    },
    get ctx() {
      return ctx
    },
    get auth() {
      return auth
    },
    translate: (payload) => ctx.app.inject({ method: 'POST', url: '/api/translate', headers: auth, payload }),
  }
}

/**
 * A LibreTranslate stand-in that knows the codes `known` (and `auto`) and refuses any other as
 * LibreTranslate does (400 `{"error": "pt-BR is not supported"}`); it translates each text to
 * `[target] text`. `GET /languages` lists `known` (each to all the others), or, with
 * `listsLanguages: false`, answers 500: a language list that cannot be had.
 */
export async function startEchoUpstream(known: readonly string[], options: { listsLanguages: boolean }) {
  const state = {
    url: '',
    /** `[source, target]` of each POST /translate. */
    pairs: [] as Array<[string, string]>,
    close: async () => {},
  }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    res.setHeader('content-type', 'application/json')
    if (req.method === 'GET') {
      if (!options.listsLanguages) {
        res.statusCode = 500
        return res.end(JSON.stringify({ error: 'Cannot load languages' }))
      }
      return res.end(
        JSON.stringify(
          known.map((code) => ({ code, name: code, targets: known.filter((other) => other !== code) })),
        ),
      )
    }
    const { q, source, target } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    state.pairs.push([source, target])
    for (const code of [source, target]) {
      if (code !== 'auto' && !known.includes(code)) {
        res.statusCode = 400
        return res.end(JSON.stringify({ error: `${code} is not supported` }))
      }
    }
    const texts: string[] = Array.isArray(q) ? q : [q]
    const out = texts.map((t) => `[${target}] ${t}`)
    res.end(JSON.stringify({ translatedText: Array.isArray(q) ? out : out[0] }))
  })
  Object.assign(state, await listenUpstream(server))
  return state
}
