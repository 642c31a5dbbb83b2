import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import { adminHeaders, buildTestApp, type Dialect, type TestContext } from '../helper.js'
import { baseUrl, connect, type TestClient } from './client.js'

/**
 * Two nodes of one deployment for one `describe` block: one database (a fresh PostgreSQL one shared
 * by both, or each its own PGlite), one Redis (`REDIS_URL`), both listening on real ports of
 * 127.0.0.1. Registers the block's `before` (build, listen) and `after` (close the sockets in
 * `sockets`, then node B, then node A). Read `a` and `b` inside hooks and tests only.
 */
export function twoNodesOnRedis(
  dialect: Dialect,
  options: { env?: Record<string, string>; sockets?: TestClient[] } = {},
) {
  const sockets = options.sockets ?? []
  let a: TestContext | undefined
  let b: TestContext | undefined
  before(async () => {
    a = await buildTestApp({ dialect, redis: true, env: options.env })
    b = await buildTestApp({ dialect, redis: true, env: options.env, databaseUrl: a.databaseUrl })
    await a.app.listen({ port: 0, host: '127.0.0.1' })
    await b.app.listen({ port: 0, host: '127.0.0.1' })
  })
  after(async () => {
    for (const c of sockets) c.close()
    await b?.close()
    await a?.close()
  })
  const started = (node: TestContext | undefined) => {
    if (!node) throw new Error('the nodes have not started: use them inside a hook or a test')
    return node
  }
  return {
    get a(): TestContext {
      return started(a)
    },
    get b(): TestContext {
      return started(b)
    },
    /** Closed before the nodes. */
    sockets,
    /**
     * Campaign `slug` with presence (broadcast 20 times a second), created through either node:
     * whichever comes second finds it there.
     */
    async presenceCampaign(slug: string): Promise<void> {
      for (const node of [started(a), started(b)]) {
        const res = await node.app.inject({
          method: 'POST',
          url: '/api/campaign',
          headers: adminHeaders,
          payload: { slug, title: slug, metadata: { features: ['presence'], scheduling: { frequency: 20 } } },
        })
        assert.ok(res.statusCode === 201 || res.statusCode === 409, res.body)
      }
    },
    /** A guest's socket on `node` in campaign `slug`, closed before the nodes. */
    async guest(node: TestContext, slug: string): Promise<TestClient> {
      const { token } = await node.app.platform.tokens.issueGuest()
      const c = await connect(`${baseUrl(node.app)}/ws/${slug}/guest?token=${token}`)
      sockets.push(c)
      return c
    },
  }
}
