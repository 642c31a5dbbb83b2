import { randomBytes, randomInt } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { after, before } from 'node:test'
import { adminHeaders, buildTestApp, type Dialect, json, type TestContext } from '../helper.js'

export const PASSWORD = 'Passw0rdOk'

/** Where a started stream is sent (`{key}`: its stream key) and watched, as the app is told. */
export const STREAM_URLS = {
  STREAM_INGEST_URL_TEMPLATE: 'rtmp://ingest.test/live/{key}',
  STREAM_PLAYBACK_URL_TEMPLATE: 'https://cdn.test/{campaign}/{stream_id}.m3u8',
}

export interface TestAccount {
  id: number
  email: string
  token: string
  headers: { authorization: string }
}

/** Signs up a StreamSource account and gives it `role` (and service status) through the admin API key. */
export async function account(
  app: FastifyInstance,
  role: 'default' | 'editor' | 'admin' = 'editor',
  options: { service?: boolean } = {},
): Promise<TestAccount> {
  const email = `u_${randomBytes(5).toString('hex')}@example.com`
  // Anonymous calls are rate-limited per address: each account signs up from an address of its own.
  const from = { 'x-forwarded-for': `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}` }
  const signup = await app.inject({
    method: 'POST',
    url: '/api/v1/signup',
    headers: from,
    payload: { user: { email, password: PASSWORD, password_confirmation: PASSWORD } },
  })
  if (signup.statusCode !== 201) throw new Error(`signup: ${signup.statusCode} ${signup.body}`)
  const { user } = json(signup)
  if (role !== 'default' || options.service) {
    const res = await app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      headers: adminHeaders,
      payload: { role, ...(options.service ? { is_service_account: true } : {}) },
    })
    if (res.statusCode !== 200) throw new Error(`role: ${res.statusCode} ${res.body}`)
  }
  // Log in again so the token reflects the service flag (its lifetime depends on it).
  const login = await app.inject({
    method: 'POST',
    url: '/api/v1/users/login',
    payload: { email, password: PASSWORD },
  })
  const { token } = json(login)
  return { id: user.id, email, token, headers: { authorization: `Bearer ${token}` } }
}

let counter = 0
/** A link no other test uses. */
export function uniqueLink(host = 'twitch.tv'): string {
  counter++
  return `https://${host}/s_${Date.now().toString(36)}_${counter}_${randomBytes(3).toString('hex')}`
}

/** `POST /api/v1/streams {link}` as `who`. */
export function createStream(app: FastifyInstance, who: TestAccount, link: string) {
  return app.inject({ method: 'POST', url: '/api/v1/streams', headers: who.headers, payload: { link } })
}

/** The ids of the streams `GET /api/v1/streams?url=` finds for `link`, as `who` lists them. */
export async function streamIdsForLink(
  app: FastifyInstance,
  who: TestAccount,
  link: string,
): Promise<number[]> {
  const res = await app.inject({
    method: 'GET',
    url: `/api/v1/streams?url=${encodeURIComponent(link)}`,
    headers: who.headers,
  })
  return json(res).streams.map((s: { id: number }) => s.id)
}

/**
 * A suite's app on `dialect` and an editor account on it, made before its tests and closed after
 * them: `suite.ctx`, `suite.editor` (read them in the tests, once they exist).
 */
export function editorApp(dialect: Dialect): { readonly ctx: TestContext; readonly editor: TestAccount } {
  let ctx: TestContext | undefined
  let editor: TestAccount | undefined
  before(async () => {
    ctx = await buildTestApp({ dialect })
    editor = await account(ctx.app, 'editor')
  })
  after(() => ctx?.close())
  return {
    get ctx() {
      return ctx!
    },
    get editor() {
      return editor!
    },
  }
}
