// Campaign live streams, viewer counts under races (QA pass 24): a page's `stream_join` and
// `stream_leave` frames are handled while the join still reads its stream from the database; a
// leave or a close that arrives meanwhile must win, or the count keeps a viewer who is gone.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { SocketInfo } from '../src/realtime/inbound.js'
import { createCampaign, DIALECTS, json, sendAction, userToken } from './helper.js'
import { type TestClient, waitUntil } from './realtime/client.js'
import { realtimeSuite } from './realtime/fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'

/** Generous bounds only: CI is a loaded two-core host; nothing here is timed. */
const WAIT = 20_000

for (const dialect of DIALECTS) {
  describe(`campaign live stream viewers under join/leave/close races (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { ...STREAM_URLS, STREAM_OPEN_PER_USER: '20' } })

    /** A live stream of a new campaign, and a guest's socket watching that campaign's frames. */
    async function liveStream() {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const started = await sendAction(live.app, slug, owner, 'stream.start', { title: 'Launch' })
      assert.equal(started.statusCode, 200, started.body)
      const id = json(started).result.stream_id as number
      const on = await sendAction(live.app, slug, owner, 'stream.start', { stream_id: id })
      assert.equal(on.statusCode, 200, on.body)
      const watcher = await live.openGuest(slug)
      return { slug, id, watcher }
    }

    /**
     * The viewer count of the second `viewers` frame `c` gets from now on: that tick began after
     * the first one was published, so it counted everything done before this call.
     */
    async function countAfterNow(c: TestClient, id: number): Promise<number> {
      const from = c.frames.length
      const ticks = () =>
        c.frames
          .slice(from)
          .filter((f) => f.type === 'stream_event' && f.kind === 'viewers' && f.stream_id === id)
      await waitUntil(() => ticks().length >= 2 || c.closed !== undefined, WAIT, 'two viewer ticks')
      assert.equal(c.closed, undefined)
      return ticks()[1].viewers
    }

    it('a join followed at once by a leave on the same socket leaves no viewer behind', async () => {
      const { slug, id, watcher } = await liveStream()
      const tab = await live.openGuest(slug)
      // Sent in one burst, as a page leaving a stream right after opening it does. The last frame
      // (a stream that does not exist) is answered once the socket's earlier frames are handled.
      const from = tab.frames.length
      tab.send({ type: 'stream_join', stream_id: id })
      tab.send({ type: 'stream_leave', stream_id: id })
      tab.send({ type: 'stream_join', stream_id: 999_999_999 })
      const refused = await tab.next((f) => f.type === 'error', WAIT, from)
      assert.equal(refused.code, 'STREAM_NOT_FOUND', JSON.stringify(refused))
      assert.equal(await countAfterNow(watcher, id), 0, 'the page left: nobody watches')
    })

    it('join, leave, join again in one burst counts the socket once; its close takes it off', async () => {
      const { slug, id, watcher } = await liveStream()
      const tab = await live.openGuest(slug)
      const from = tab.frames.length
      for (const type of ['stream_join', 'stream_leave', 'stream_join', 'stream_join']) {
        tab.send({ type, stream_id: id })
      }
      tab.send({ type: 'stream_join', stream_id: 999_999_999 })
      await tab.next((f) => f.type === 'error' && f.code === 'STREAM_NOT_FOUND', WAIT, from)
      assert.equal(await countAfterNow(watcher, id), 1)
      // Leaving a stream never joined, twice, changes nothing; the close without a leave does.
      tab.send({ type: 'stream_leave', stream_id: id + 1 })
      tab.close()
      await watcher.next(
        (f) => f.type === 'stream_event' && f.kind === 'viewers' && f.stream_id === id && f.viewers === 0,
        WAIT,
      )
    })

    it('a stream id that is no stream id is refused as the actions refuse it, and joins nothing', async () => {
      const { slug, id, watcher } = await liveStream()
      const tab = await live.openGuest(slug)
      // `Number()` read `[id]` as the stream, `true` as stream 1 and a missing id as "Stream undefined".
      for (const [type, streamId] of [
        ['stream_join', [id]],
        ['stream_join', true],
        ['stream_join', undefined],
        ['stream_join', ` ${id}`],
        ['stream_join', 0],
        ['stream_leave', [id]],
      ] as const) {
        const from = tab.frames.length
        tab.send({ type, stream_id: streamId })
        const refused = await tab.next((f) => f.type === 'error', WAIT, from)
        assert.equal(
          refused.code,
          'VALIDATION_FAILED',
          `${type} ${JSON.stringify(streamId)}: ${JSON.stringify(refused)}`,
        )
      }
      assert.equal(await countAfterNow(watcher, id), 0)
      // The digits of an id, as the actions take it, are a stream id.
      tab.send({ type: 'stream_join', stream_id: String(id) })
      await watcher.next(
        (f) => f.type === 'stream_event' && f.kind === 'viewers' && f.stream_id === id && f.viewers === 1,
        WAIT,
      )
    })

    it('a socket that closes while its join is still reading the stream is not counted', async () => {
      const { slug, id, watcher } = await liveStream()
      const join = live.app.inbound.get('stream_join')!
      const socket: SocketInfo = {
        connection_id: `conn_${slug}`,
        campaign: slug,
        user_id: 'guest',
        session_id: `sess_${slug}`,
        roles: ['guest'],
      }
      // The gateway hands a close to the module at once, whatever the socket's frames still do.
      const joining = join(socket, { type: 'stream_join', stream_id: id })
      await live.app.inbound.closed(socket)
      await joining
      assert.equal(await countAfterNow(watcher, id), 0, 'a closed socket watches nothing')
      // A leave for a socket that is gone, and a close of one that never joined, are harmless.
      await live.app.inbound.get('stream_leave')!(socket, { type: 'stream_leave', stream_id: id })
      await live.app.inbound.closed({ ...socket, connection_id: `never_${slug}` })
    })
  })
}
