// Campaign live stream chat per client network (QA pass 24b). The chat limit was per session
// only, and a guest session costs nothing to mint: one address could open session after session
// and flood a stream's chat. Each client network (an IPv4 address, an IPv6 /64, as TRUST_PROXY
// reads it) now has `STREAM_CHAT_PER_MINUTE_PER_IP` messages a minute in a campaign for all its
// sessions together; over it, 429 `CHAT_RATE_LIMITED`. Other networks are not touched.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, userToken } from './helper.js'
import type { TestClient } from './realtime/client.js'
import { realtimeSuite } from './realtime/fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'
import { goLive, socketChat, watch } from './live-stream-fixtures.js'

const WAIT = 20_000
const PER_NETWORK = 4
/** The minute a limiter window is named by (windows are aligned to the clock). */
const minute = () => Math.floor(Date.now() / 60_000)

for (const dialect of DIALECTS) {
  describe(`campaign live stream chat per client network (${dialect})`, () => {
    // TRUST_PROXY=true in tests: X-Forwarded-For on the upgrade names the client address.
    const live = realtimeSuite({
      dialect,
      env: {
        ...STREAM_URLS,
        STREAM_CHAT_PER_MINUTE: '30',
        STREAM_CHAT_PER_MINUTE_PER_IP: String(PER_NETWORK),
      },
    })

    /** A new guest session's socket on `slug`, from `ip`. */
    async function guestFrom(slug: string, ip: string): Promise<TestClient> {
      return live.open(`/ws/${slug}/guest?token=${await live.guestToken()}`, {
        headers: { 'x-forwarded-for': ip },
      })
    }
    let requests = 0
    /** `stream.chat` over the socket, as a page sends it; its `update_ack`. */
    const chat = (c: TestClient, streamId: number, text: string) =>
      socketChat(c, streamId, text, `chat-${++requests}`, WAIT)
    /** A campaign with a live stream. */
    async function liveStream() {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      return { slug, id: await goLive(live.app, slug, owner) }
    }
    /**
     * Runs `steps` on a fresh campaign, again (at most twice more) if a limiter window ended
     * while they ran: the budget is per clock minute, and a new minute would give it back.
     */
    async function inOneWindow(steps: (s: { slug: string; id: number }) => Promise<void>) {
      for (let attempt = 0; ; attempt++) {
        const before = minute()
        const stream = await liveStream()
        try {
          await steps(stream)
          return
        } catch (err) {
          if (minute() === before || attempt === 2) throw err
        }
      }
    }

    it("a second session from the same address is refused once the address's budget is spent; another address is not", async () => {
      await inOneWindow(async ({ slug, id }) => {
        const viewer = await live.openGuest(slug)
        await watch(viewer, id, WAIT)
        const first = await guestFrom(slug, '198.51.100.7')
        for (let i = 0; i < PER_NETWORK; i++) {
          const ack = await chat(first, id, `hello ${i}`)
          assert.equal(ack.status, 'success', JSON.stringify(ack))
        }
        // A new session (guests mint them freely) from the same address has nothing left.
        const second = await guestFrom(slug, '198.51.100.7')
        const refused = await chat(second, id, 'flood')
        assert.equal(refused.status, 'error', JSON.stringify(refused))
        assert.equal(refused.error.code, 'CHAT_RATE_LIMITED', JSON.stringify(refused))
        // Another address chats on.
        const other = await guestFrom(slug, '198.51.100.8')
        const ok = await chat(other, id, 'from next door')
        assert.equal(ok.status, 'success', JSON.stringify(ok))
        // The viewers heard the messages that were let through, and not the refused one.
        await viewer.next(
          (f) => f.type === 'stream_event' && f.kind === 'chat' && f.text === 'from next door',
          WAIT,
        )
        const texts = viewer.frames
          .filter((f) => f.type === 'stream_event' && f.kind === 'chat')
          .map((f) => f.text)
        assert.deepEqual(texts, ['hello 0', 'hello 1', 'hello 2', 'hello 3', 'from next door'])
      })
    })

    it('an IPv6 client is counted by its /64, whichever address of it a session comes from', async () => {
      await inOneWindow(async ({ slug, id }) => {
        for (let i = 0; i < PER_NETWORK; i++) {
          const s = await guestFrom(slug, `2001:db8:5:6::${i + 1}`)
          const ack = await chat(s, id, `v6 ${i}`)
          assert.equal(ack.status, 'success', JSON.stringify(ack))
        }
        const same64 = await guestFrom(slug, '2001:db8:5:6:ffff::9')
        const refused = await chat(same64, id, 'flood')
        assert.equal(refused.error?.code, 'CHAT_RATE_LIMITED', JSON.stringify(refused))
        const next64 = await guestFrom(slug, '2001:db8:5:7::1')
        assert.equal((await chat(next64, id, 'other /64')).status, 'success')
      })
    })
  })
}
