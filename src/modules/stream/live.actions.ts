import { Type } from 'typebox'
import type { ActionContext, ActionRegistry } from '../../nexus/registry.js'
import type { CampaignStatus } from '../campaign/campaign.schema.js'
import type { InboundRegistry } from '../../realtime/inbound.js'
import type { LiveStreams } from './live.service.js'

const StreamId = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]{1,15}$' })])
/** The title becomes the registry row's title, where control characters are refused too. */
export const Title = Type.String({ maxLength: 200, pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]*$' })
/**
 * Ending a stream takes no part in the campaign: a stream left on when its campaign ended, went
 * back to draft or was archived is still ended by its owner or an admin. Nothing else can end it
 * (the registry refuses to change an open campaign stream), so it would stay live for good. Its
 * key is reset whatever the campaign's status too: a leaked key publishes to an open stream still.
 */
export const ANY_STATUS: readonly CampaignStatus[] = ['draft', 'scheduled', 'active', 'ended', 'archived']
/**
 * The ingest URL holds the publishing key: an idempotency record keeps the answer without it, so
 * the key never sits in the database (it keeps the key's hash alone). A retry with the same
 * request id (`Idempotency-Key`) runs nothing again and is 409 `SECRET_NOT_REPLAYED`, its details
 * naming the first result's other fields (the stream id): reset the key for a new ingest URL.
 */
const INGEST_SECRET = {
  fields: ['ingest_url'],
  hint: 'reset the stream key (stream.reset_key, or POST /api/campaign/{slug}/streams/{id}/reset-key) for a new ingest URL',
}
/** What the actions on one stream (`stream_id`) share. */
const ONE_STREAM = {
  payload: Type.Object({ stream_id: StreamId }, { additionalProperties: false }),
  role: 'participant',
  feature: 'streaming',
  writes: 'immediate',
} as const
/**
 * A step's `stream_event`s go out once the action has committed (its answer stored): a bus that
 * refuses them (Redis unreachable) must not turn a stored step into a 500 whose retry runs it again.
 */
const afterCommit = (ctx: ActionContext) => (announce: () => Promise<void>) => ctx.afterCommit(announce)

/** `stream.start` / `stream.pause` / `stream.stop` / `stream.reset_key` / `stream.chat` (feature `streaming`). */
export function registerLiveActions(registry: ActionRegistry, live: LiveStreams): void {
  registry.register({
    name: 'stream.start',
    aliases: ['start_stream'],
    description:
      'Without stream_id: create a stream (starting) and get {stream_id, status, ingest_url, playback_url} ' +
      '(the ingest URL, which holds the publishing key, in this answer only: stream.reset_key makes a new one). ' +
      'With stream_id: go live (from starting or paused), {stream_id, status, playback_url}. A person keeps at most STREAM_OPEN_PER_USER ' +
      'streams open (not ended) per campaign: 409 STREAM_LIMIT_REACHED names them. The ingest URL is never ' +
      'kept with the idempotency record: a retry with the same request id (Idempotency-Key) of a create runs ' +
      'nothing again and is 409 SECRET_NOT_REPLAYED, details {withheld, result} naming the stream made ' +
      '(reset its key for a new ingest URL), where Stripe would replay the stored answer.',
    payload: Type.Object(
      { title: Type.Optional(Title), stream_id: Type.Optional(StreamId) },
      { additionalProperties: false },
    ),
    role: 'participant',
    feature: 'streaming',
    writes: 'immediate',
    secretResult: INGEST_SECRET,
    handler: async (ctx, p: { title?: string; stream_id?: number | string }) => ({
      result: await live.start(ctx.principal, ctx.campaign.slug, p, afterCommit(ctx)),
    }),
  })
  registry.register({
    name: 'stream.pause',
    aliases: ['pause_stream'],
    description: 'Pause a live stream (owner or admin)',
    ...ONE_STREAM,
    handler: async (ctx, p: { stream_id: number | string }) => ({
      result: await live.pause(ctx.principal, ctx.campaign.slug, p.stream_id, afterCommit(ctx)),
    }),
  })
  registry.register({
    name: 'stream.stop',
    aliases: ['stop_stream'],
    description:
      'End a stream for good (owner or admin), also once the campaign has ended, gone back to draft or been archived',
    ...ONE_STREAM,
    statuses: ANY_STATUS,
    handler: async (ctx, p: { stream_id: number | string }) => ({
      result: await live.stop(ctx.principal, ctx.campaign.slug, p.stream_id, afterCommit(ctx)),
    }),
  })
  registry.register({
    name: 'stream.reset_key',
    aliases: ['reset_stream_key'],
    description:
      'A new publishing key for a stream that has not ended (its owner, or an editor): the old key is ' +
      'refused by the ingest authorisation from then on; {stream_id, status, ingest_url, playback_url}, ' +
      'the ingest URL in this answer only (the key is stored hashed). An ended stream: 409 INVALID_STREAM_STATE. ' +
      'The ingest URL is not kept with the idempotency record either: a retry with the same request id runs ' +
      'nothing again and is 409 SECRET_NOT_REPLAYED (details {withheld, result}); reset again with a new request id.',
    ...ONE_STREAM,
    statuses: ANY_STATUS,
    secretResult: INGEST_SECRET,
    handler: async (ctx, p: { stream_id: number | string }) => ({
      result: await live.resetKey(ctx.principal, ctx.campaign.slug, p.stream_id),
    }),
  })
  registry.register({
    name: 'stream.chat',
    aliases: ['stream_chat'],
    description:
      'Send a plain-text chat message to the viewers of a live stream. At most STREAM_CHAT_PER_MINUTE ' +
      'a minute per person (a guest: per session) and STREAM_CHAT_PER_MINUTE_PER_IP per client network ' +
      '(IPv4 address, IPv6 /64) in the campaign: 429 CHAT_RATE_LIMITED. Redis unreachable (where the ' +
      'recent chat is kept, and the bus to the other nodes): 503 CHAT_UNAVAILABLE, the message not sent.',
    // The configured limit is checked by the service with a clear code; this only bounds the frame.
    payload: Type.Object(
      { stream_id: StreamId, text: Type.String({ minLength: 1, maxLength: 10_000 }) },
      { additionalProperties: false },
    ),
    role: 'guest',
    feature: 'streaming',
    writes: 'immediate',
    handler: async (ctx, p: { stream_id: number | string; text: string }) => ({
      result: await live.chat(ctx.principal, ctx.campaign.slug, p, ctx.ip),
    }),
  })
}

/** Campaign WebSocket frames this module handles (`live.join` / `live.leave`). */
export const StreamJoinFrame = Type.Object({ type: Type.Literal('stream_join'), stream_id: StreamId })
export const StreamLeaveFrame = Type.Object({ type: Type.Literal('stream_leave'), stream_id: StreamId })

/** `stream_join` / `stream_leave` frames from the campaign gateway, socket closes, and who watches a stream. */
export function registerLiveInbound(inbound: InboundRegistry, live: LiveStreams): void {
  inbound.register('stream_join', (socket, frame) => live.join(socket, frame))
  inbound.register('stream_leave', (socket, frame) => live.leave(socket, frame))
  // `group` audiences `stream:<id>` (chat): the sockets of this node that joined the stream.
  inbound.registerGroup('stream', live.watchers)
  inbound.onClose((socket) => live.closed(socket))
}
