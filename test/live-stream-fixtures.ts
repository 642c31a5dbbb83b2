// Campaign live streams as the live-stream tests make them: on air through the actions, chat
// sent over a socket as the page sends it.
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { json, sendAction } from './helper.js'
import type { TestClient } from './realtime/client.js'
import { STREAM_URLS } from './streamsource/helpers.js'

/** A live-stream test app's settings: the stream URLs, and chat limits no test reaches. */
export const LIVE_ENV = {
  ...STREAM_URLS,
  STREAM_CHAT_PER_MINUTE: '1000',
  STREAM_CHAT_PER_MINUTE_PER_IP: '1000',
}

/** A stream of `owner` on campaign `slug`, created and put on air (`stream.start` twice); its id. */
export async function goLive(
  app: FastifyInstance,
  slug: string,
  owner: string,
  title = 'Chat',
): Promise<number> {
  const created = await sendAction(app, slug, owner, 'stream.start', { title })
  assert.equal(created.statusCode, 200, created.body)
  const id = json(created).result.stream_id as number
  const onAir = await sendAction(app, slug, owner, 'stream.start', { stream_id: id })
  assert.equal(onAir.statusCode, 200, onAir.body)
  return id
}

/** `stream.chat` over socket `c`, as a page sends it; its `update_ack` (waited for up to `wait` ms). */
export async function socketChat(
  c: TestClient,
  streamId: number,
  text: string,
  requestId: string,
  wait = 20_000,
) {
  const from = c.frames.length
  c.send({
    type: 'campaign_event',
    event: 'stream.chat',
    payload: { stream_id: streamId, text },
    request_id: requestId,
  })
  return c.next((f) => f.type === 'update_ack' && f.request_id === requestId, wait, from)
}

/**
 * `stream_join` over socket `c`, as a page sends it: the stream's chat reaches the socket once
 * this resolves. Returns the `chat_recent` frame the join is answered with (the recent chat).
 */
export async function watch(c: TestClient, streamId: number, wait = 20_000) {
  const from = c.frames.length
  c.send({ type: 'stream_join', stream_id: streamId })
  return c.next(
    (f) => f.type === 'stream_event' && f.kind === 'chat_recent' && f.stream_id === streamId,
    wait,
    from,
  )
}
