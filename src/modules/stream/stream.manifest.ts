import { Type } from 'typebox'
import type { EndpointDeclaration, ModuleManifest } from '../../platform/module.js'
import { CREDENTIALS_REVOKED_CHANNEL } from '../../platform/auth/revoked.js'
import { TOKENS_CUT_OFF_CHANNEL } from './account.service.js'
import {
  CableBusMessage,
  TokensCutOffMessage,
  CollaborativeStreamsChannelMessage,
  StreamsChannelMessage,
} from './cable/cable.schema.js'
import { CABLE_CHANNEL, CABLE_PATH } from './cable/protocol.js'
import { StreamJoinFrame, StreamLeaveFrame } from './live.actions.js'
import { STREAM_ENDED_CHANNEL } from './live.service.js'

const ss = (
  method: EndpointDeclaration['method'],
  path: string,
  summary: string,
  auth: EndpointDeclaration['auth'] = 'streamsource',
): EndpointDeclaration => ({ method, path: `/api/v1${path}`, auth, summary })

/** `maintenance.ts`'s channel: the switch itself is read from the database. */
const MAINTENANCE_CHANNEL = 'ovasabi:stream:maintenance'
const MaintenanceMessage = Type.Object({ enabled: Type.Boolean() })
const StreamEndedMessage = Type.Object({ stream_id: Type.Integer({ minimum: 1 }) })

/** The stream registry: StreamSource-compatible `/api/v1` + `/cable`, and campaign live streams. */
export const streamManifest: ModuleManifest = {
  name: 'stream',
  version: '1.0.0',
  description:
    'Stream registry speaking the StreamSource v1 API and ActionCable (/cable), and campaign live streams ' +
    '(start/pause/stop, chat, viewers) on the same records',
  capabilities: [
    'streamsource.api',
    'streamsource.accounts',
    'streamsource.ratelimit',
    'streamsource.maintenance',
    'actioncable.streams',
    'actioncable.collaboration',
    'stream.lifecycle',
    'stream.chat',
    'stream.viewers',
  ],
  dependencies: ['campaign', 'nexus', 'realtime', 'database', 'bus', 'redis'],
  endpoints: [
    ss('POST', '/login', 'Log in (nested form)', 'public'),
    ss('POST', '/signup', 'Sign up (nested form)', 'public'),
    ss('POST', '/users/login', 'Log in (flat form)', 'public'),
    ss('POST', '/users/signup', 'Sign up (flat form)', 'public'),
    ss('DELETE', '/logout', 'Revoke the token'),
    ss('DELETE', '/logout/all', "Cut off every token of the caller's account"),
    ss('PUT', '/users/password', 'Change your password (cuts off older tokens, answers a new one)'),
    ss('PATCH', '/users/password', 'Change your password (cuts off older tokens, answers a new one)'),
    ss('GET', '/users', 'List accounts (admin)'),
    ss('GET', '/users/:id', 'Read an account (admin)'),
    ss('PATCH', '/users/:id', 'Change role / service account (admin)'),
    ss('POST', '/users/:id/revoke_tokens', 'Cut off every token of an account (admin)'),
    ss('GET', '/admin/maintenance', 'Maintenance switch state (admin)'),
    ss('PUT', '/admin/maintenance', 'Toggle maintenance (admin)'),
    ss('GET', '/streams', 'List streams with filters'),
    ss('POST', '/streams', 'Create a stream (duplicates answer the existing one)'),
    ss('GET', '/streams/export', 'Export CSV/JSON'),
    ss('POST', '/streams/import', 'Bulk import CSV/JSON'),
    ss('PATCH', '/streams/batch', 'Batch update'),
    ss('GET', '/streams/:id', 'Read a stream'),
    ss('PATCH', '/streams/:id', 'Update a stream'),
    ss('PUT', '/streams/:id', 'Update a stream'),
    ss('DELETE', '/streams/:id', 'Delete a stream'),
    ss('PUT', '/streams/:id/pin', 'Pin'),
    ss('DELETE', '/streams/:id/pin', 'Unpin'),
    ss('POST', '/streams/:id/archive', 'Archive'),
    ss('POST', '/streams/:id/unarchive', 'Unarchive'),
    {
      method: 'GET',
      path: CABLE_PATH,
      auth: 'streamsource',
      summary: 'ActionCable WebSocket upgrade (answered on the HTTP server, outside the router)',
    },
    {
      method: 'GET',
      path: '/api/campaign/:slug/streams/live',
      auth: 'session',
      summary: "The campaign's streams that have not ended, as stream_event frames tell visitors",
    },
    {
      method: 'POST',
      path: '/api/campaign/:slug/streams/:id/reset-key',
      auth: 'participant',
      summary: 'A new publishing key for a stream that has not ended (stream.reset_key: owner or editor)',
    },
    {
      method: 'POST',
      path: '/api/campaign/:slug/streams',
      auth: 'participant',
      summary: 'Create a stream, starting (stream.start): the ingest URL in this answer only',
    },
    {
      method: 'POST',
      path: '/api/campaign/:slug/streams/:id/start',
      auth: 'participant',
      summary: 'Take a starting or paused stream live (stream.start: owner or admin)',
    },
    {
      method: 'POST',
      path: '/api/campaign/:slug/streams/:id/pause',
      auth: 'participant',
      summary: 'Pause a live stream (stream.pause: owner or admin)',
    },
    {
      method: 'POST',
      path: '/api/campaign/:slug/streams/:id/stop',
      auth: 'participant',
      summary: "End a stream, whatever the campaign's status (stream.stop: owner or admin)",
    },
    {
      method: 'POST',
      path: '/api/streams/ingest/nginx-rtmp',
      auth: 'public',
      summary:
        'nginx-rtmp on_publish/on_update/on_publish_done (the media server, STREAM_INGEST_AUTH_SECRET)',
    },
    {
      method: 'POST',
      path: '/api/streams/ingest/mediamtx',
      auth: 'public',
      summary: 'MediaMTX external HTTP authentication (the media server, STREAM_INGEST_AUTH_SECRET)',
    },
  ],
  actions: ['stream.start', 'stream.pause', 'stream.stop', 'stream.reset_key', 'stream.chat'],
  events: [
    {
      name: 'StreamsChannel',
      channel: 'cable',
      direction: 'emits',
      description: '{action, stream} on every change',
      schema: StreamsChannelMessage,
    },
    {
      name: 'CollaborativeStreamsChannel',
      channel: 'cable',
      direction: 'emits',
      description: 'active_users_list, cell_locked, cell_unlocked, cell_updated; errors to the sender only',
      schema: CollaborativeStreamsChannelMessage,
    },
    {
      name: 'stream_event',
      channel: 'ws',
      direction: 'emits',
      description:
        "status and viewers of live streams, to the campaign; chat only to the sockets that joined the stream (a `group` audience), and a join's answer `chat_recent` (the stream's last 50 messages) to the joining socket",
    },
    {
      name: 'stream_join',
      channel: 'ws',
      direction: 'consumes',
      description:
        "A socket starts watching a stream (its chat from now on); answered by the stream's recent chat",
      schema: StreamJoinFrame,
    },
    {
      name: 'stream_leave',
      channel: 'ws',
      direction: 'consumes',
      description: 'A socket stops watching',
      schema: StreamLeaveFrame,
    },
    {
      name: TOKENS_CUT_OFF_CHANNEL,
      channel: 'bus',
      direction: 'emits',
      description:
        "An account's tokens were cut off, one was logged out, or its role changed: every node re-checks its /cable sockets of that account",
      schema: TokensCutOffMessage,
    },
    {
      name: TOKENS_CUT_OFF_CHANNEL,
      channel: 'bus',
      direction: 'consumes',
      description:
        'Each node closes its /cable sockets whose token no longer works and ends the subscriptions a changed role no longer allows (cable/server.ts)',
    },
    {
      name: CREDENTIALS_REVOKED_CHANNEL,
      channel: 'bus',
      direction: 'consumes',
      description:
        "A console person's logout, erasure or lowered role: each node re-checks its /cable sockets of that person (cable/server.ts)",
    },
    {
      name: CABLE_CHANNEL,
      channel: 'bus',
      direction: 'emits',
      description: 'Cable broadcasts to every node',
      schema: CableBusMessage,
    },
    {
      name: CABLE_CHANNEL,
      channel: 'bus',
      direction: 'consumes',
      description: 'Each node delivers a broadcast to its /cable subscribers (cable/server.ts)',
    },
    {
      name: MAINTENANCE_CHANNEL,
      channel: 'bus',
      direction: 'emits',
      description: 'The maintenance switch was toggled',
      schema: MaintenanceMessage,
    },
    {
      name: MAINTENANCE_CHANNEL,
      channel: 'bus',
      direction: 'consumes',
      description: 'Each node reads the switch again at once (else within 5 s)',
    },
    {
      name: STREAM_ENDED_CHANNEL,
      channel: 'bus',
      direction: 'emits',
      description: 'A campaign stream ended (stop, erasure, streaming turned off), once the end is stored',
      schema: StreamEndedMessage,
    },
    {
      name: STREAM_ENDED_CHANNEL,
      channel: 'bus',
      direction: 'consumes',
      description:
        "Each node forgets its sockets that watched the stream (live.service.ts), from the node's first stream_join on",
    },
  ],
  tables: [
    'service_stream_main',
    'service_stream_user',
    'service_stream_token_denylist',
    'service_stream_setting',
  ],
  features: ['streaming'],
}
