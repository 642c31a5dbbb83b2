import assert from 'node:assert/strict'
import { randomBytes, randomInt } from 'node:crypto'
import { describe, it } from 'node:test'
import { DIALECTS, json } from '../helper.js'
import { createStream, editorApp, streamIdsForLink } from './helpers.js'

/**
 * One Twitch clip or past broadcast, Kick video or clip, Facebook video or TikTok page shared in
 * another of its usual forms (the clip under its channel, the embed player, a phone's link, a
 * start time, an escaped letter) was stored as a second stream instead of answering the one listed.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource duplicate links in a platform's other forms (${dialect})`, () => {
    const suite = editorApp(dialect)

    const slug = () => `Slug${randomBytes(4).toString('hex')}-Ab_C`
    const name = () => `Chan${randomBytes(3).toString('hex').toUpperCase()}`
    const digits = () => `${randomInt(1e9, 2e9)}${randomInt(1e5, 1e6)}`

    /** Every form is the stream the first one made, created or looked up. */
    async function oneStream(forms: string[]) {
      const made = await createStream(suite.ctx.app, suite.editor, forms[0]!)
      assert.equal(made.statusCode, 201, `${forms[0]}: ${made.body}`)
      const id = json(made).stream.id
      for (const form of forms.slice(1)) {
        const dup = await createStream(suite.ctx.app, suite.editor, form)
        assert.equal(dup.statusCode, 200, `${form}: ${dup.body}`)
        assert.equal(json(dup).stream.id, id, form)
        assert.deepEqual(await streamIdsForLink(suite.ctx.app, suite.editor, form), [id], form)
      }
      return id as number
    }

    it('answers one Twitch clip in its every form', async () => {
      const s = slug()
      const n = name()
      await oneStream([
        `https://clips.twitch.tv/${s}`,
        `https://www.twitch.tv/${n}/clip/${s}?filter=clips&range=7d&sort=time`,
        `https://m.twitch.tv/${n.toLowerCase()}/clip/${s}?tt_medium=mobile`,
        `https://m.twitch.tv/clip/${s}`,
        `https://clips.twitch.tv/embed?clip=${s}&parent=wall.example`,
        `http://clips.twitch.tv:80/${s}/`,
      ])
      // And the other way round: first shared under its channel.
      const t = slug()
      await oneStream([`https://twitch.tv/${name()}/clip/${t}`, `https://clips.twitch.tv/${t}?tt_content=x`])
    })

    it('answers one Twitch past broadcast, and a channel through its embed player', async () => {
      const v = digits()
      await oneStream([
        `https://www.twitch.tv/videos/${v}`,
        `https://twitch.tv/${name()}/v/${v}`,
        `https://m.twitch.tv/videos/${v}?t=1h2m3s`,
        `https://player.twitch.tv/?video=v${v}&parent=wall.example`,
      ])
      const n = name()
      await oneStream([
        `https://twitch.tv/${n}`,
        `https://player.twitch.tv/?channel=${n.toLowerCase()}&parent=wall.example&muted=true`,
        `https://www.twitch.tv/${n}?referrer=raid`,
        `https://twitch.tv:443/${n}/`,
        `https://twitch.tv/%${n.charCodeAt(0).toString(16)}${n.slice(1)}`,
      ])
    })

    it('answers one Kick video, clip or channel in its every form', async () => {
      const n = name()
      const video = `${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}`
      await oneStream([`https://kick.com/video/${video}`, `https://kick.com/${n}/videos/${video}`])
      const clip = `clip_01${randomBytes(6).toString('hex').toUpperCase()}`
      await oneStream([
        `https://kick.com/${n}/clips/${clip}`,
        `https://kick.com/${n.toLowerCase()}?clip=${clip}`,
      ])
      await oneStream([`https://kick.com/${n}`, `https://player.kick.com/${n}?autoplay=true`])
    })

    it('answers one Facebook video in its every form', async () => {
      const v = digits()
      const page = name()
      await oneStream([
        `https://www.facebook.com/watch/?v=${v}`,
        `https://facebook.com/watch?v=${v}&ref=sharing&mibextid=abc`,
        `https://m.facebook.com/watch/live/?v=${v}`,
        `https://facebook.com/video.php?v=${v}`,
        `https://web.facebook.com/${page}/videos/${v}/`,
        `https://www.facebook.com/${page}/videos/vb.1234/${v}/?type=3`,
        `https://fb.com/${page.toLowerCase()}/videos/${v}`,
        `https://www.facebook.com/plugins/video.php?href=${encodeURIComponent(`https://www.facebook.com/${page}/videos/${v}/`)}&show_text=false&width=560`,
      ])
      await oneStream([
        `https://facebook.com/${page}`,
        `https://www.facebook.com/${page}?rdid=AbC&share_url=x`,
      ])
    })

    it('answers one TikTok live or video whatever the query', async () => {
      const n = name()
      await oneStream([
        `https://www.tiktok.com/@${n}/live`,
        `https://www.tiktok.com/@${n.toLowerCase()}/live?enter_from_merge=others_homepage&enter_method=others_photo`,
        `https://m.tiktok.com/@${n}/live?lang=en`,
      ])
      const v = digits()
      await oneStream([
        `https://www.tiktok.com/@${n}/video/${v}`,
        `https://www.tiktok.com/@${n}/video/${v}?lang=en&q=x`,
      ])
    })

    it('keeps apart other clips, videos and what is not one stream', async () => {
      const s = slug()
      const v = digits()
      const n = name()
      for (const link of [
        `https://clips.twitch.tv/${s}`,
        `https://clips.twitch.tv/${s.toLowerCase()}`,
        `https://twitch.tv/${n}/clip/${s}x`,
        `https://twitch.tv/videos/${v}`,
        `https://twitch.tv/videos/${v}1`,
        `https://twitch.tv/${n}/videos`,
        `https://twitch.tv/${n}/clips`,
        `https://twitch.tv:8080/videos/${v}`,
        `https://kick.com/${n}/videos/${v}x`,
        `https://kick.com/${n}/clips/${s}`,
        `https://facebook.com/watch?v=${v}`,
        `https://facebook.com/watch?v=${v}2`,
        `https://facebook.com/${n}/videos`,
        `https://fb.watch/${s}`,
        `https://fb.watch/${s.toLowerCase()}`,
        `https://www.facebook.com/share/v/${s}/`,
        `https://tiktok.com/@${n}`,
        `https://tiktok.com/@${n}/live`,
        `https://vm.tiktok.com/${s}`,
        `https://example.com/${n}?lang=en`,
        `https://example.com/${n}?lang=fr`,
        `https://example.com/a%2F${n}`,
        `https://example.com/a/${n}`,
      ]) {
        const res = await createStream(suite.ctx.app, suite.editor, link)
        assert.equal(res.statusCode, 201, `${link}: ${res.body}`)
      }
    })
  })
}
