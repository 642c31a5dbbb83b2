// What the localization suites share: a test app translating through an upstream of the suite's
// choosing (the fake LibreTranslate, or a scripted stand-in), and a guest asking it.
import { after, before } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
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
