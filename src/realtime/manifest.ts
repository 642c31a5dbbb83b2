import { CampaignStatusEvent } from '../amadeus/frames.schema.js'
import { CREDENTIALS_REVOKED_CHANNEL } from '../platform/auth/revoked.js'
import type { ModuleManifest } from '../platform/module.js'

/** The real-time gateway as the service graph sees it. */
export const manifest: ModuleManifest = {
  name: 'realtime',
  version: '1.0.0',
  description:
    'WebSocket gateway: live presence and cursors per campaign tick, delivery of published frames to ' +
    'campaigns, users, sessions and roles, event replay, slow-client protection, scale-out over Redis',
  capabilities: [
    'realtime.presence',
    'realtime.cursors',
    'realtime.delivery',
    'realtime.replay',
    'realtime.backpressure',
    'realtime.cluster',
  ],
  dependencies: ['campaign', 'nexus', 'auth', 'bus', 'redis'],
  endpoints: [
    {
      method: 'GET',
      path: '/ws/:campaign/:user_id',
      auth: 'session',
      summary: 'WebSocket upgrade (token in ?token=, Sec-WebSocket-Protocol or cookie)',
    },
    {
      method: 'GET',
      path: '/ws/*',
      auth: 'session',
      summary: "The probe of every other /ws/ path (trailing slash, long segment): the upgrade's refusal",
    },
  ],
  actions: [],
  events: [
    { name: 'connected', channel: 'ws', direction: 'emits', description: 'First frame on every socket' },
    {
      name: 'presence_update',
      channel: 'ws',
      direction: 'emits',
      description: 'Per tick: active_users, changed cursors (capped), left, idle',
    },
    {
      name: 'campaign_event',
      channel: 'ws',
      direction: 'emits',
      description: 'Published campaign events, with ids',
    },
    {
      name: 'campaign.status',
      channel: 'ws',
      direction: 'emits',
      description:
        "campaign_event to each socket when its campaign's status changed since it was told (connected.status): the scheduled start passed, an edit moved it, a draft was published",
      schema: CampaignStatusEvent,
    },
    { name: 'update_ack', channel: 'ws', direction: 'emits', description: "Result of the user's own action" },
    {
      name: 'stats_update',
      channel: 'ws',
      direction: 'emits',
      description:
        'On a tick when changed (read at most once a second), or when active_users changed (at most once a second): counters, referral leaderboard',
    },
    {
      name: 'notification',
      channel: 'ws',
      direction: 'emits',
      description: 'Delivered for the publishing module',
    },
    {
      name: 'media_event',
      channel: 'ws',
      direction: 'emits',
      description: 'Delivered for the publishing module',
    },
    {
      name: 'stream_event',
      channel: 'ws',
      direction: 'emits',
      description: 'Delivered for the publishing module',
    },
    {
      name: 'resync_required',
      channel: 'ws',
      direction: 'emits',
      description:
        "Events were lost: ?since= is older than the history or its replay would not fit the socket's queue, or events overflowed the queue of a slow socket",
    },
    { name: 'pong', channel: 'ws', direction: 'emits', description: 'Answer to ping' },
    { name: 'auth_ok', channel: 'ws', direction: 'emits', description: 'In-band token refresh accepted' },
    {
      name: 'error',
      channel: 'ws',
      direction: 'emits',
      description: '{code, message}: the REST error codes',
    },
    { name: 'cursor', channel: 'ws', direction: 'consumes', description: '{x, y} normalised 0..1' },
    { name: 'ping', channel: 'ws', direction: 'consumes' },
    { name: 'auth', channel: 'ws', direction: 'consumes', description: 'In-band token refresh' },
    {
      name: 'campaign_event',
      channel: 'ws',
      direction: 'consumes',
      description: 'Action envelope, dispatched through Nexus like REST',
    },
    {
      name: 'ovasabi:realtime',
      channel: 'bus',
      direction: 'emits',
      description: 'Frames without a campaign, published for every module (publish.ts)',
    },
    {
      name: 'ovasabi:realtime',
      channel: 'bus',
      direction: 'consumes',
      description: 'Frames without a campaign',
    },
    {
      name: 'ovasabi:realtime:c:{campaign}',
      channel: 'bus',
      direction: 'emits',
      description: 'Frames for one campaign, published for every module (publish.ts, history.ts)',
    },
    {
      name: 'ovasabi:realtime:c:{campaign}',
      channel: 'bus',
      direction: 'consumes',
      description: 'Frames for one campaign (campaign_event ids via the history)',
    },
    {
      name: 'ovasabi:rt:cur:{campaign}',
      channel: 'bus',
      direction: 'emits',
      description: "This node's cursor batch per tick (merged by the other nodes)",
    },
    {
      name: 'ovasabi:rt:cur:{campaign}',
      channel: 'bus',
      direction: 'consumes',
      description: "The other nodes' cursor batches and sync requests (cluster.ts)",
    },
    {
      name: CREDENTIALS_REVOKED_CHANNEL,
      channel: 'bus',
      direction: 'consumes',
      description: 'A logout or an erasure: the sockets it covers close at once (1008 TOKEN_REVOKED)',
    },
    { name: 'ovasabi:rt:node-down', channel: 'bus', direction: 'emits', description: 'A node was reaped' },
    {
      name: 'ovasabi:rt:node-down',
      channel: 'bus',
      direction: 'consumes',
      description: "A reaped node's cursors are dropped",
    },
    {
      name: 'ovasabi:campaign:changed',
      channel: 'bus',
      direction: 'consumes',
      description: 'Tick rate, caps (through the campaign service, which subscribes on every node)',
    },
  ],
  tables: [],
  features: ['presence'],
}
