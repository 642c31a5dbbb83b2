// Campaign live stream chat (QA pass 24): a message nobody can see. Only white space and control
// characters counted as empty; a message of zero-width spaces, joiners, a byte order mark or
// direction marks was broadcast to every viewer as a blank line.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, json, sendAction, userToken } from './helper.js'
import type { TestClient } from './realtime/client.js'
import { realtimeSuite } from './realtime/fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'
import { goLive, socketChat, watch } from './live-stream-fixtures.js'

const WAIT = 20_000

for (const dialect of DIALECTS) {
  describe(`campaign live stream chat: invisible messages (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { ...STREAM_URLS, STREAM_CHAT_PER_MINUTE: '100' } })

    const chat = (c: TestClient, streamId: number, text: string, requestId: string) =>
      socketChat(c, streamId, text, requestId, WAIT)

    it('a message of only invisible characters is CHAT_EMPTY and reaches no one', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const id = await goLive(live.app, slug, owner)
      const viewer = await live.openGuest(slug)
      await watch(viewer, id, WAIT)
      const talker = await live.openGuest(slug)

      const invisible = [
        '\u200b\u200b\u200b', // zero-width spaces
        ' \u200d \ufeff ', // a joiner and a byte order mark among spaces
        '\u2060\u200e\u200f', // word joiner, left-to-right and right-to-left marks
        '\u202e\u2066\u2069', // a direction override and an isolate
        '\u00ad\u061c', // a soft hyphen, the Arabic letter mark
        '\u3164 \u3164', // Hangul fillers, the usual blank name
      ]
      for (const [i, text] of invisible.entries()) {
        const ack = await chat(talker, id, text, `blank-${i}`)
        assert.equal(ack.status, 'error', `${JSON.stringify(text)}: ${JSON.stringify(ack)}`)
        assert.equal(ack.error.code, 'CHAT_EMPTY', JSON.stringify(text))
      }
      // Visible text with such characters inside it is a message (an emoji sequence, a name).
      const shown = '👩\u200d💻 hi\u00a0there'
      const ok = await chat(talker, id, shown, 'visible')
      assert.equal(ok.status, 'success', JSON.stringify(ok))
      const heard = await viewer.next((f) => f.type === 'stream_event' && f.kind === 'chat', WAIT)
      assert.equal(heard.text, shown, 'the first chat frame the viewer gets is the visible one')
    })

    it('a stream title of only invisible characters reads as the default title, in frames and the REST read', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const viewer = await live.openGuest(slug)
      const res = await sendAction(live.app, slug, owner, 'stream.start', { title: ' \u200b\u2060\u3164 ' })
      assert.equal(res.statusCode, 200, res.body)
      const id = json(res).result.stream_id as number
      const status = await viewer.next(
        (f) => f.type === 'stream_event' && f.kind === 'status' && f.stream_id === id,
        WAIT,
      )
      assert.equal(status.title, 'Live stream')
      const read = await live.app.inject({
        url: `/api/campaign/${slug}/streams/live`,
        headers: { authorization: `Bearer ${owner}` },
      })
      assert.deepEqual(
        json(read).streams.map((s: { title: string }) => s.title),
        ['Live stream'],
      )
    })
  })
}
