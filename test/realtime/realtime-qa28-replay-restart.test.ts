import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { buildTestApp, createCampaign, type TestContext, uniqueSlug } from '../helper.js'
import { baseUrl, connect, type TestClient } from './client.js'

// The in-memory history (one process, no Redis) numbered each campaign's events from 1 again
// after a restart. A client resuming with `?since=` an id of the process before, once the new
// one had published past it, was replayed the new process's events after that id and never
// told of the ones before it: a silent gap.
describe('realtime qa28: ?since= across a restart of a process keeping its history in memory', () => {
  const started: TestContext[] = []
  const clients: TestClient[] = []
  after(async () => {
    for (const c of clients) c.close()
    for (const s of started) await s.close()
  })
  const node = async () => {
    const s = await buildTestApp()
    started.push(s)
    await s.app.listen({ port: 0, host: '127.0.0.1' })
    return s
  }
  const publish = (s: TestContext, slug: string, n: number) =>
    s.app.publisher.publish(
      { scope: 'campaign', campaign: slug },
      { type: 'campaign_event', event: 'x.y', n },
    )
  const open = async (s: TestContext, slug: string, query = '') => {
    const { token } = await s.app.platform.tokens.issueGuest()
    const c = await connect(`${baseUrl(s.app)}/ws/${slug}/guest?token=${token}${query}`)
    clients.push(c)
    return c
  }

  it("does not replay the new process's events past an id of the old one as if nothing came before", async () => {
    const slug = uniqueSlug('restart')
    const before = await node()
    await createCampaign(before.app, { slug })
    const seen = await open(before, slug)
    for (let n = 1; n <= 2; n++) await publish(before, slug, n)
    const last = await seen.next((f) => f.type === 'campaign_event' && f.n === 2)
    seen.close()
    await before.close()
    started.splice(started.indexOf(before), 1)

    const restarted = await node()
    await createCampaign(restarted.app, { slug })
    for (let n = 10; n <= 14; n++) await publish(restarted, slug, n)
    const back = await open(restarted, slug, `&since=${last.id}`)
    await publish(restarted, slug, 15)
    await back.next((f) => f.type === 'campaign_event' && f.n === 15)
    const events = back.frames.filter((f) => f.type === 'campaign_event').map((f) => f.n)
    const resync = back.frames.find((f) => f.type === 'resync_required')
    if (resync) assert.deepEqual(events, [15], 'told to reload, then live events')
    else assert.deepEqual(events, [10, 11, 12, 13, 14, 15], 'or every event it missed')
  })
})
