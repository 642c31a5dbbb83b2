import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { ADMIN_KEY, adminHeaders, DIALECTS, REDIS_URL, type TestContext, uniqueSlug } from '../helper.js'
import { childEnv } from '../fixtures/child-env.js'
import { baseUrl, connect, waitUntil } from './client.js'
import { twoNodesOnRedis } from './two-nodes.js'

const SECRET = 'cluster-test-secret-cluster-test-secret-0123'

for (const dialect of DIALECTS) {
  describe(`realtime scale-out over Redis (${dialect})`, {
    skip: !REDIS_URL && 'REDIS_URL is not set',
  }, () => {
    const nodes = twoNodesOnRedis(dialect, { env: { JWT_SECRET: SECRET, WS_PRESENCE_LEAVE_MS: '200' } })
    let a: TestContext
    let b: TestContext
    const clients = nodes.sockets
    const open = async (ctx: TestContext | string, path: string) => {
      const base = typeof ctx === 'string' ? ctx : baseUrl(ctx.app)
      const c = await connect(`${base}${path}`)
      clients.push(c)
      return c
    }
    const campaignOn = async (ctx: TestContext, slug: string, frequency = 10) => {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/campaign',
        headers: adminHeaders,
        payload: {
          slug,
          title: slug,
          metadata: { features: ['presence', 'analytics'], scheduling: { frequency } },
        },
      })
      // 409 when both nodes share one PostgreSQL database and the other node created it.
      assert.ok(res.statusCode === 201 || res.statusCode === 409, res.body)
    }
    const token = async (ctx: TestContext) => (await ctx.app.platform.tokens.issueGuest()).token

    before(() => {
      a = nodes.a
      b = nodes.b
    })

    it('two nodes see one active_users, each other cursors and events exactly once', async () => {
      const slug = uniqueSlug('rt')
      await campaignOn(a, slug)
      await campaignOn(b, slug)
      const ca = await open(a, `/ws/${slug}/guest?token=${await token(a)}`)
      const cb = await open(b, `/ws/${slug}/guest?token=${await token(b)}`)
      const u = await a.app.platform.tokens.issueUser({ userId: 'user_both', roles: ['participant'] })
      // One user with a tab on each node counts once.
      await open(a, `/ws/${slug}/user_both?token=${u.token}`)
      await open(b, `/ws/${slug}/user_both?token=${u.token}`)
      await ca.next((f) => f.type === 'presence_update' && f.active_users === 3, 10_000)
      await cb.next((f) => f.type === 'presence_update' && f.active_users === 3, 10_000)
      const idA = ca.frames[0].cursor_id
      const idB = cb.frames[0].cursor_id
      ca.send({ type: 'cursor', x: 0.1, y: 0.2 })
      cb.send({ type: 'cursor', x: 0.3, y: 0.4 })
      const seenB = await cb.next(
        (f) => f.type === 'presence_update' && f.cursors.some((c: any) => c[0] === idA),
      )
      assert.deepEqual(
        seenB.cursors.find((c: any) => c[0] === idA),
        [idA, 0.1, 0.2],
      )
      await ca.next((f) => f.type === 'presence_update' && f.cursors.some((c: any) => c[0] === idB))
      // An event published on node A reaches sockets on both nodes, once each, with the same id.
      await a.app.publisher.publish(
        { scope: 'campaign', campaign: slug },
        { type: 'campaign_event', event: 'x', k: 1 },
      )
      await b.app.publisher.publish(
        { scope: 'campaign', campaign: slug },
        { type: 'campaign_event', event: 'x', k: 2 },
      )
      const evA = await ca.next((f) => f.type === 'campaign_event' && f.k === 2)
      const evB = await cb.next((f) => f.type === 'campaign_event' && f.k === 2)
      assert.equal(evA.id, evB.id)
      ca.send({ type: 'ping' })
      cb.send({ type: 'ping' })
      await ca.next((f) => f.type === 'pong')
      await cb.next((f) => f.type === 'pong')
      for (const c of [ca, cb]) {
        const events = c.frames.filter((f) => f.type === 'campaign_event')
        assert.deepEqual(
          events.map((f) => f.k),
          [1, 2],
        )
        assert.equal(events[1].id, events[0].id + 1)
      }
      // A leave on node B reaches node A's count.
      cb.close()
      await ca.next((f) => f.type === 'presence_update' && f.left.includes(idB), 10_000)
      await ca.next((f) => f.type === 'presence_update' && f.active_users === 2, 10_000)
    })

    // Nodes exchange cursor changes only, and a node hears a campaign only while it holds sockets of
    // it: the first visitor on a node used to see none of the other nodes' cursors until they moved.
    it("the first socket of a campaign on a node gets the other nodes' standing cursors", async () => {
      const slug = uniqueSlug('rt')
      await campaignOn(a, slug)
      await campaignOn(b, slug)
      const mover = await open(b, `/ws/${slug}/guest?token=${await token(b)}`)
      const watcher = await open(b, `/ws/${slug}/guest?token=${await token(b)}`)
      const id = mover.frames[0].cursor_id
      mover.send({ type: 'cursor', x: 0.3, y: 0.4 })
      // Node B has broadcast (and shared) the move; then the cursor stands still.
      await watcher.next((f) => f.type === 'presence_update' && f.cursors.some((c: any) => c[0] === id))
      const newcomer = await open(a, `/ws/${slug}/guest?token=${await token(a)}`)
      const seen = await newcomer.next(
        (f) => f.type === 'presence_update' && f.cursors.some((c: any) => c[0] === id),
        8000,
      )
      assert.deepEqual(
        seen.cursors.find((c: any) => c[0] === id),
        [id, 0.3, 0.4],
      )
    })

    // A node that stalls past its heartbeat (a long GC pause, a blocked event loop) is reaped by
    // the others, who drop its cursors; it then registers again, and its users are counted again,
    // but its cursors were gone for good from every other node until they moved.
    it('a node reaped while alive gives its cursors back when it registers again', async () => {
      const slug = uniqueSlug('rt')
      await campaignOn(a, slug)
      await campaignOn(b, slug)
      const watcher = await open(a, `/ws/${slug}/guest?token=${await token(a)}`)
      const mover = await open(b, `/ws/${slug}/guest?token=${await token(b)}`)
      const id: string = mover.frames[0].cursor_id
      const nodeB = id.slice(0, id.lastIndexOf('.'))
      mover.send({ type: 'cursor', x: 0.6, y: 0.7 })
      await watcher.next((f) => f.type === 'presence_update' && f.cursors.some((c: any) => c[0] === id))
      // What a reaper does to a node it believes dead: it forgets it and tells the others.
      const redis = new Redis(REDIS_URL!)
      try {
        await redis.publish('ovasabi:rt:node-down', JSON.stringify({ node: nodeB }))
        await watcher.next((f) => f.type === 'presence_update' && f.left.includes(id))
        const from = watcher.frames.length
        await redis.srem('ovasabi:rt:{presence}:nodes', nodeB)
        // Node B's next heartbeat finds itself unregistered and says what it holds again.
        const back = await watcher.next(
          (f) => f.type === 'presence_update' && f.cursors.some((c: any) => c[0] === id),
          8000,
          from,
        )
        assert.deepEqual(
          back.cursors.find((c: any) => c[0] === id),
          [id, 0.6, 0.7],
        )
      } finally {
        redis.disconnect()
      }
    })

    it('a guest who joins on another node counts once, while their guest tab is still open', async () => {
      const slug = uniqueSlug('rt')
      await campaignOn(a, slug)
      await campaignOn(b, slug)
      const watcher = await open(a, `/ws/${slug}/guest?token=${await token(a)}`)
      const guest = await a.app.platform.tokens.issueGuest()
      await open(a, `/ws/${slug}/guest?token=${guest.token}`)
      const latest = () =>
        [...watcher.frames].reverse().find((f) => f.type === 'presence_update')?.active_users
      await waitUntil(() => latest() === 2, 10_000, 'watcher and guest')
      // The guest joins (same session id) and a tab on node B reconnects as the user; the guest
      // tab on node A stays open. One person.
      const user = await b.app.platform.tokens.issueUser({
        userId: 'user_joined_elsewhere',
        sessionId: guest.principal.session_id,
        roles: ['participant'],
      })
      await open(b, `/ws/${slug}/user_joined_elsewhere?token=${user.token}`)
      // Someone else arrives on node B: once the count has taken them in, it has the user too.
      await open(b, `/ws/${slug}/guest?token=${await token(b)}`)
      await waitUntil(() => (latest() ?? 0) >= 3, 10_000, 'the newcomer counted')
      await new Promise((r) => setTimeout(r, 1500)) // a few more refreshes of the shared count
      assert.equal(latest(), 3, 'watcher, the person (guest tab + user tab), the newcomer')
    })

    // Presence lives in Redis, not the database: one dialect is enough, and a spawned node is slow
    // to start on a shared machine.
    const once = dialect === DIALECTS[0] ? {} : { skip: 'runs with the first dialect' }
    it('kill -9 of a node drops its users from everyone within 10 s', once, async () => {
      const slug = uniqueSlug('rt')
      await campaignOn(a, slug)
      const child: ChildProcess = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, '../fixtures/realtime-node.ts')],
        {
          // Node A's Redis names (no prefix), whatever this shell's REDIS_PREFIX.
          env: childEnv(
            {
              REDIS_URL: REDIS_URL!,
              JWT_SECRET: SECRET,
              OVASABI_ADMIN_KEY: ADMIN_KEY,
              DATA_DIR: mkdtempSync(join(tmpdir(), 'ovasabi-node-')),
              TEST_CAMPAIGN: slug,
              // The node shares node A's database, or uses its own embedded one (never the base URL).
              DATABASE_URL: a.databaseUrl ?? '',
            },
            'silent',
          ),
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      )
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = ''
          child.stdout!.on('data', (d) => {
            out += d
            const line = out.split('\n').find((l) => l.startsWith('{'))
            if (line) resolve(JSON.parse(line).port)
          })
          child.once('exit', (code) => reject(new Error(`node exited with ${code}`)))
        })
        const watcher = await open(a, `/ws/${slug}/guest?token=${await token(a)}`)
        const remote = `ws://127.0.0.1:${port}`
        const victims = [
          await open(remote, `/ws/${slug}/guest?token=${await token(a)}`),
          await open(remote, `/ws/${slug}/guest?token=${await token(a)}`),
        ]
        victims[0]!.send({ type: 'cursor', x: 0.5, y: 0.5 })
        const victimId = victims[0]!.frames[0].cursor_id
        await watcher.next(
          (f) => f.type === 'presence_update' && f.cursors.some((c: any) => c[0] === victimId),
        )
        await watcher.next((f) => f.type === 'presence_update' && f.active_users === 3, 10_000)
        const mark = watcher.frames.length
        child.kill('SIGKILL')
        const started = Date.now()
        await watcher.next((f) => f.type === 'presence_update' && f.active_users === 1, 10_000, mark)
        const elapsed = Date.now() - started
        await watcher.next((f) => f.type === 'presence_update' && f.left.includes(victimId), 5000, mark)
        assert.ok(elapsed <= 10_000, `took ${elapsed} ms`)
      } finally {
        child.kill('SIGKILL')
      }
    })
  })
}
