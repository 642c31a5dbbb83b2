import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createCampaign, DIALECTS, guestToken, joinWithPassword, json, logInElsewhere } from '../helper.js'
import { connect, type TestClient, waitUntil } from './client.js'
import { realtimeSuite } from './fixtures.js'

/** Every wait is bounded generously: CI is a loaded two-core host. */
const WAIT = 20_000
/** Sockets one session may hold open (small, so the limit is reached cheaply). */
const PER_SESSION = 2

/** The first frame from `from` on (the server answers each frame once). */
async function ask(c: TestClient, frame: unknown): Promise<any> {
  const from = c.frames.length
  c.send(frame)
  return c.next(() => true, WAIT, from)
}

/** An `auth` refresh with `token`, answered `auth_ok`. */
async function refresh(c: TestClient, token: string): Promise<void> {
  const answer = await ask(c, { type: 'auth', token })
  assert.equal(answer.type, 'auth_ok', JSON.stringify(answer))
}

/** A round trip answered: the socket is open and has read everything before it. */
async function answersPing(c: TestClient): Promise<void> {
  const from = c.frames.length
  c.send({ type: 'ping' })
  await c.next((f) => f.type === 'pong', WAIT, from)
  assert.equal(c.closed, undefined)
}

/** A person who joined `slug` with a password: their user id, first session and its token. */
async function member(app: FastifyInstance, slug: string) {
  const m = await joinWithPassword(app, slug)
  const me = await app.inject({
    method: 'GET',
    url: '/api/auth/me',
    headers: { authorization: `Bearer ${m.token}` },
  })
  assert.equal(me.statusCode, 200, me.body)
  return { ...m, id: json(me).user_id as string, session: json(me).session_id as string }
}

/** The session a token is of. */
async function sessionOf(app: FastifyInstance, token: string): Promise<string> {
  return (await app.platform.tokens.verify(token)).session_id
}

for (const dialect of DIALECTS) {
  describe(`the /ws gateway, fifth QA pass: socket limits across auth refreshes (${dialect})`, () => {
    // No per-address limit: every socket here comes from 127.0.0.1, only the session's counts.
    const live = realtimeSuite({
      dialect,
      env: {
        WS_MAX_SOCKETS_PER_SESSION: String(PER_SESSION),
        WS_MAX_SOCKETS_PER_IP: '0',
        // A closed socket's person stops counting at once: the counts below need no waiting out.
        WS_PRESENCE_LEAVE_MS: '0',
      },
    })

    /** The upgrade's answer: 101 (closed again at once), or the refusal's status and error. */
    const attempt = async (path: string) =>
      connect(`${live.url}${path}`).then(
        (c) => {
          c.close()
          return { status: 101, error: undefined }
        },
        (err: { status?: number; body?: string }) => ({
          status: err.status,
          error: err.body ? JSON.parse(err.body).error : undefined,
        }),
      )

    /** `path` is refused: its session holds its limit. */
    const assertFull = async (path: string, what: string) => {
      const refused = await attempt(path)
      assert.equal(refused.status, 429, `${what}: ${JSON.stringify(refused)}`)
      assert.deepEqual(refused.error.details, { scope: 'session', limit: PER_SESSION })
    }

    /**
     * Open (and keep) a socket on `path` once its session has a slot: a socket closed just before
     * gives its slot back when the server sees the close, a moment later.
     */
    const openWhenFree = async (path: string): Promise<TestClient> => {
      let opened: TestClient | undefined
      await waitUntil(
        async () => {
          opened = await connect(`${live.url}${path}`).catch((err: { status?: number }) => {
            if (err.status !== 429) throw err
            return undefined
          })
          return opened !== undefined
        },
        WAIT,
        `a free slot for ${path}`,
      )
      return live.keep(opened!)
    }

    /** Ann, her first session's token and two more sessions' (she logged in twice elsewhere). */
    async function annWithThreeSessions(slug: string) {
      const { app } = live
      const ann = await member(app, slug)
      const second = (await logInElsewhere(app, slug, ann)).token
      const third = (await logInElsewhere(app, slug, ann)).token
      const sessions = new Set([ann.session, await sessionOf(app, second), await sessionOf(app, third)])
      assert.equal(sessions.size, 3, 'three sessions')
      const path = (token: string) => `/ws/${slug}/${ann.id}?token=${token}`
      return { ann, first: ann.token, second, third, path }
    }

    it('moves the socket’s slot to the session an auth refresh puts it in: the old session gets it back, the new one counts it', async () => {
      const slug = await createCampaign(live.app)
      const { first, second, path } = await annWithThreeSessions(slug)
      const moving = await live.open(path(first))
      await live.open(path(first))
      await assertFull(path(first), 'the first session holds two sockets')

      await refresh(moving, second)
      // Before: the first session still counted the socket and refused this upgrade.
      await live.open(path(first))
      await assertFull(path(first), 'two sockets again on the first session')
      // The second session counts the moved socket: one more fills it (before: two more fit).
      await live.open(path(second))
      await assertFull(path(second), 'the moved socket and one opened with its token')
      await answersPing(moving)
    })

    it('refuses a refresh into a session at its limit with TOO_MANY_CONNECTIONS; the socket keeps its token and session', async () => {
      const { app } = live
      const slug = await createCampaign(app)
      const { first, second, path } = await annWithThreeSessions(slug)
      const [session1, session2] = [await sessionOf(app, first), await sessionOf(app, second)]
      const c = await live.open(path(first))
      const holder = await live.open(path(second))
      await live.open(path(second))

      const refused = await ask(c, { type: 'auth', token: second })
      assert.equal(refused.type, 'error', JSON.stringify(refused))
      assert.equal(refused.code, 'TOO_MANY_CONNECTIONS')
      assert.deepEqual(refused.details, { scope: 'session', limit: PER_SESSION })
      assert.match(refused.message, /keeps its current token/)
      await answersPing(c)

      // Still the first session's socket: its frames reach it, the second session's do not.
      await app.publisher.publish(
        { scope: 'session', campaign: slug, session_id: session2 },
        { type: 'notification', event: 'qa5.second' },
      )
      await app.publisher.publish(
        { scope: 'session', campaign: slug, session_id: session1 },
        { type: 'notification', event: 'qa5.first' },
      )
      await c.next((f) => f.type === 'notification' && f.event === 'qa5.first', WAIT)
      assert.ok(
        !c.frames.some((f) => f.event === 'qa5.second'),
        'the second session’s frame did not reach it',
      )
      // Its slot stayed with the first session, which holds it and one more; the second is full.
      await live.open(path(first))
      await assertFull(path(first), 'the refused socket still counts for the first session')
      await assertFull(path(second), 'the second session is as full as before')

      // Once the second session has a slot again, the same refresh is taken.
      holder.close()
      await waitUntil(
        async () => {
          const answer = await ask(c, { type: 'auth', token: second })
          if (answer.type === 'auth_ok') return true
          assert.equal(answer.code, 'TOO_MANY_CONNECTIONS', JSON.stringify(answer))
          return false
        },
        WAIT,
        'the refresh taken',
      )
      await openWhenFree(path(first))
      await assertFull(path(first), 'the first session got the moved socket’s slot back')
    })

    it('gives back, once, the slot of the session a socket is in when it closes, after several refreshes', async () => {
      const slug = await createCampaign(live.app)
      const { first, second, third, path } = await annWithThreeSessions(slug)
      const c = await live.open(path(first))
      // first → second → first → third: it ends up counted by the third session only.
      await refresh(c, second)
      await refresh(c, first)
      await refresh(c, third)
      await live.open(path(first))
      await live.open(path(first))
      await assertFull(path(first), 'the first session lost the socket')
      await live.open(path(second))
      await live.open(path(second))
      await assertFull(path(second), 'the second session lost the socket')
      await live.open(path(third))
      await assertFull(path(third), 'the third session holds the socket')

      c.close()
      // Its close frees the third session's slot; before, it freed the first session's.
      await openWhenFree(path(third))
      // Freed once: the third session is full again with its two sockets (a second release
      // would let another in), and the others were not touched.
      await assertFull(path(third), 'one slot freed')
      await assertFull(path(first), 'the first session untouched by the close')
      await assertFull(path(second), 'the second session untouched by the close')
    })

    it('counts the person once when a refresh moves a socket into the session a guest tab of theirs logged in from', async () => {
      const { app } = live
      const slug = await createCampaign(app)
      const ann = await member(app, slug)
      const moving = await live.open(`/ws/${slug}/${ann.id}?token=${ann.token}`)
      // Ann's other device: a guest tab, then a login from its guest session (which keeps its id).
      const guest = (await guestToken(app)).token
      const tab = await live.open(`/ws/${slug}/guest?token=${guest}`)
      const login = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { authorization: `Bearer ${guest}` },
        payload: { email: ann.email, password: ann.password, campaign: slug },
      })
      assert.equal(login.statusCode, 200, login.body)
      // Ann, her guest tab (not known to be hers yet) and the watcher.
      const watcher = await live.openGuest(slug)
      assert.equal(watcher.frames[0].active_users, 3, JSON.stringify(watcher.frames[0]))

      await refresh(moving, json(login).token)
      // As a socket opened with that token would count: the guest tab is Ann's (before: 4).
      const late = await live.openGuest(slug)
      assert.equal(late.frames[0].active_users, 3, JSON.stringify(late.frames[0]))
      // Her two sockets' closes (the tab's counted as hers now) leave nobody of her: no count
      // stays behind for either session.
      const from = watcher.frames.length
      tab.close()
      moving.close()
      await watcher.next((f) => f.type === 'presence_update' && f.active_users === 2, WAIT, from)
    })
  })
}
