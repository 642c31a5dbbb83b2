// Text that shows nothing (QA pass 25). Campaign titles, display names, consent versions, media file
// names and live stream chat and titles each had a rule of their own for "blank", and each missed what another
// caught: a chat line of the blank Braille pattern or of lone combining marks went out to every
// viewer, a file named with a Hangul filler was stored nameless, a display name of reserved
// default-ignorable code points (which no font draws) sat on the leaderboard as an empty entry,
// a campaign titled with zero-width spaces showed a blank in the console and on its page.
// They now share `isBlank` / `DRAWS_NOTHING` (src/platform/text.ts).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isBlank } from '../src/platform/text.js'
import {
  adminHeaders,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  sendAction,
  suiteApp,
  uniqueSlug,
  userToken,
} from './helper.js'
import { goLive } from './live-stream-fixtures.js'
import { uploadTicket } from './media-fixtures.js'
import { tryJoin } from './people-fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'

/** Each shows nothing, and each passed at least one of the former rules. */
const BLANKS = {
  'blank Braille pattern': '\u2800\u2800',
  'lone combining marks': '\u0301\u0308',
  'reserved default-ignorable code points': '\uFFF0\u2065',
  'a variation selector and a Hangul filler': '\uFE0F\u3164',
  'a tag character among spaces': ' \u{E0041} ',
}

describe('isBlank', () => {
  it('is true for what draws nothing and false once something shows', () => {
    for (const [what, text] of Object.entries(BLANKS)) assert.ok(isBlank(text), what)
    for (const text of ['', ' ', '\u200b\u200d', '\u3164 \u115f'])
      assert.ok(isBlank(text), JSON.stringify(text))
    for (const text of ['a', ' \u2800x', 'é', 'e\u0301', '👩\u200d💻', '李', '\u2801']) {
      assert.ok(!isBlank(text), JSON.stringify(text))
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`text that shows nothing (${dialect})`, () => {
    const suite = suiteApp({ dialect, env: STREAM_URLS })

    it('is no campaign title, and nothing is created', async () => {
      for (const [what, title] of Object.entries({ ...BLANKS, 'zero-width spaces': '\u200b \u200b' })) {
        const slug = uniqueSlug()
        const res = await suite.app.inject({
          method: 'POST',
          url: '/api/campaign',
          headers: adminHeaders,
          payload: { slug, title },
        })
        assert.equal(res.statusCode, 400, `${what}: ${res.body}`)
        assert.deepEqual(json(res).error.details, [
          { in: 'body', path: '/title', message: 'must not be blank' },
        ])
        const got = await suite.app.inject({ url: `/api/campaign/${slug}`, headers: adminHeaders })
        assert.equal(got.statusCode, 404, what)
      }
    })

    it('is no display name and no consent version', async () => {
      const slug = await createCampaign(suite.app)
      for (const [what, name] of Object.entries(BLANKS)) {
        const res = await tryJoin(suite.app, slug, { name })
        assert.equal(res.statusCode, 400, `${what}: ${res.body}`)
        assert.match(JSON.stringify(json(res).error.details), /name/, what)
      }
      for (const [what, version] of Object.entries(BLANKS)) {
        const res = await tryJoin(suite.app, slug, { consent: { text_version: version } })
        assert.equal(res.statusCode, 400, `${what}: ${res.body}`)
      }
      // A name with such characters in it, around something visible, is a name.
      const named = await tryJoin(suite.app, slug, { name: '\u2800Zoe\u0308' })
      assert.equal(named.statusCode, 201, named.body)
    })

    it('is no file name', async () => {
      const slug = await createCampaign(suite.app)
      const auth = { authorization: `Bearer ${(await guestToken(suite.app)).token}` }
      for (const [what, filename] of Object.entries(BLANKS)) {
        const t = await uploadTicket(suite.app, slug, auth, { filename, content_type: 'image/png', size: 10 })
        assert.equal(t.status, 400, `${what}: ${JSON.stringify(t.body)}`)
        assert.equal(t.body.error.code, 'INVALID_FILENAME', what)
      }
      const named = await uploadTicket(suite.app, slug, auth, {
        filename: '\u2800.png',
        content_type: 'image/png',
        size: 10,
      })
      assert.equal(named.status, 200, JSON.stringify(named.body))
    })

    it('is no chat message and no stream title', async () => {
      const slug = await createCampaign(suite.app)
      const owner = await userToken(suite.app, `user_owner_${slug}`)
      for (const [what, title] of Object.entries(BLANKS)) {
        const res = await sendAction(suite.app, slug, owner, 'stream.start', { title })
        assert.equal(res.statusCode, 200, `${what}: ${res.body}`)
        const id = json(res).result.stream_id as number
        const read = await suite.app.inject({
          url: `/api/campaign/${slug}/streams/live`,
          headers: { authorization: `Bearer ${owner}` },
        })
        const stream = json(read).streams.find((s: { stream_id: number }) => s.stream_id === id)
        assert.equal(stream?.title, 'Live stream', `${what}: ${read.body}`)
        assert.equal(
          (await sendAction(suite.app, slug, owner, 'stream.stop', { stream_id: id })).statusCode,
          200,
        )
      }
      const id = await goLive(suite.app, slug, owner)
      for (const [what, text] of Object.entries(BLANKS)) {
        const res = await sendAction(suite.app, slug, owner, 'stream.chat', { stream_id: id, text })
        assert.equal(json(res).error?.code, 'CHAT_EMPTY', `${what}: ${res.body}`)
      }
      const said = await sendAction(suite.app, slug, owner, 'stream.chat', {
        stream_id: id,
        text: 'e\u0301 \u2800 hi',
      })
      assert.equal(said.statusCode, 200, said.body)
    })
  })
}
