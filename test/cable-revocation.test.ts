import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import type { FastifyInstance } from 'fastify'
import { WebSocket } from 'ws'
import { TOKENS_CUT_OFF_CHANNEL } from '../src/modules/stream/account.service.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  guestToken,
  json,
  listenLocally,
  REDIS_URL,
} from './helper.js'
import { consumer, subscribe, until } from './streamsource/cable-client.js'
import { account, PASSWORD, uniqueLink } from './streamsource/helpers.js'

// `/cable` (StreamSource) sockets are opened with StreamSource account tokens (their own signing
// key and issuer) or API keys, never with a campaign session: what a campaign logout or erasure
// revokes (`ovasabi:auth:revoked`) cannot hold a `/cable` socket open. A StreamSource logout ends
// its token's `/cable` socket at once on every node, as a cut-off does.

/** What `/cable` answers an upgrade with `url`/`headers`: its first frame, then the close. */
async function cableAnswer(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, 'actioncable-v1-json', { headers })
  const frames: unknown[] = []
  ws.on('message', (data) => frames.push(JSON.parse(data.toString())))
  const closed = await new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no close within 20 s')), 20_000)
    ws.on('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
    ws.on('error', () => {})
  })
  return { frames, closed }
}

describe('/cable and campaign credentials', () => {
  it('never opens a /cable socket with a campaign user or guest token, in the URL or as its cookie', async () => {
    const ctx = await buildTestApp({})
    try {
      const url = (await listenLocally(ctx.app)).replace(/^http/, 'ws')
      const slug = await createCampaign(ctx.app)
      const guest = await guestToken(ctx.app)
      const joined = await ctx.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { campaign: slug, name: 'Ann', email: `ann_${randomBytes(4).toString('hex')}@example.com` },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      const unauthorized = { type: 'disconnect', reason: 'unauthorized', reconnect: false }
      for (const token of [json(joined).token as string, guest.token]) {
        const inUrl = await cableAnswer(`${url}/cable?token=${encodeURIComponent(token)}`)
        assert.deepEqual(inUrl.frames, [unauthorized])
        const asCookie = await cableAnswer(`${url}/cable`, {
          cookie: `ovasabi_token=${token}; jwt_token=${token}`,
        })
        assert.deepEqual(asCookie.frames, [unauthorized])
      }
    } finally {
      await ctx.close()
    }
  })
})

describe('a StreamSource logout closes its /cable socket at once, on every node', () => {
  it("closes the logged-out token's socket on both nodes, and keeps the account's other login", {
    skip: (!REDIS_URL || !process.env.DATABASE_URL) && 'REDIS_URL and DATABASE_URL are needed',
  }, async () => {
    const a = await buildTestApp({ dialect: 'postgres', redis: true })
    const consumers: Consumer[] = []
    try {
      const b = await buildTestApp({ dialect: 'postgres', redis: true, databaseUrl: a.databaseUrl })
      try {
        const urls = new Map([
          [a.app, await listenLocally(a.app)],
          [b.app, await listenLocally(b.app)],
        ])
        const open = async (app: FastifyInstance, token: string) => {
          const c = consumer(urls.get(app)!, token)
          consumers.push(c)
          return subscribe(c, 'StreamsChannel')
        }
        const user = await account(a.app, 'default')
        const login = await a.app.inject({
          method: 'POST',
          url: '/api/v1/users/login',
          payload: { email: user.email, password: PASSWORD },
        })
        const other: string = json(login).token
        const here = await open(a.app, user.token)
        const there = await open(b.app, user.token)
        const otherThere = await open(b.app, other)
        // What node B hears: the announcement, not its periodic re-check, is what closes the socket.
        const heard: unknown[] = []
        const stop = await b.app.platform.bus.subscribe(TOKENS_CUT_OFF_CHANNEL, (m) => heard.push(m))
        try {
          const out = await a.app.inject({ method: 'DELETE', url: '/api/v1/logout', headers: user.headers })
          assert.equal(out.statusCode, 200, out.body)
          await until(() => heard.length > 0, 'the logout announced to node B', 20_000)
          assert.deepEqual(heard, [{ account_id: user.id }])
        } finally {
          await stop()
        }
        await until(() => here.disconnected && there.disconnected, 'both sockets of the token closed', 20_000)
        // The account's other login keeps its socket: it still gets broadcasts.
        const link = uniqueLink()
        const made = await a.app.inject({
          method: 'POST',
          url: '/api/v1/streams',
          headers: adminHeaders,
          payload: { link },
        })
        assert.equal(made.statusCode, 201, made.body)
        await until(() => otherThere.received.some((m) => m.stream?.link === link), 'a broadcast', 20_000)
        assert.equal(otherThere.disconnected, false)
      } finally {
        for (const c of consumers) c.disconnect()
        await b.close()
      }
    } finally {
      await a.close()
    }
  })
})
