// Peer (c), what a user would write by hand: a bare Fastify route doing one `pg` INSERT per
// request (pool of 10) of the same analytics row Ovasabi records, into a table with the same
// columns and indexes as `service_analytics_event`. A small body schema, as a Fastify user would
// write; no auth, no idempotency, no counters. PORT and DATABASE_URL from the environment.
import Fastify from 'fastify'
import pg from 'pg'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
await pool.query(`
  create table if not exists peer_analytics_event (
    id bigserial primary key,
    event_id text not null,
    campaign_slug text not null,
    event text not null,
    user_id text not null,
    session_id text not null,
    payload jsonb not null,
    metadata jsonb not null,
    "timestamp" timestamptz not null,
    received_at timestamptz not null
  );
  create index if not exists peer_analytics_event_campaign on peer_analytics_event (campaign_slug, event, received_at);
  create index if not exists peer_analytics_event_user on peer_analytics_event (user_id);
  create index if not exists peer_analytics_event_metadata_gin on peer_analytics_event using gin (metadata);
`)

interface TrackBody {
  action: string
  request_id: string
  user_id?: string
  data?: unknown
  metadata?: Record<string, unknown>
}

const app = Fastify({ logger: false })
app.get('/health', async () => {
  await pool.query('select 1')
  return { status: 'healthy' }
})
app.post<{ Params: { campaign: string }; Body: TrackBody }>(
  '/api/:campaign/track',
  {
    schema: {
      body: {
        type: 'object',
        required: ['action', 'request_id'],
        properties: {
          action: { type: 'string', minLength: 1, maxLength: 96 },
          request_id: { type: 'string', minLength: 1, maxLength: 128 },
          user_id: { type: 'string' },
          data: {},
          metadata: { type: 'object' },
        },
      },
    },
  },
  async (request) => {
    const b = request.body
    const now = new Date().toISOString()
    await pool.query(
      `insert into peer_analytics_event
         (event_id, campaign_slug, event, user_id, session_id, payload, metadata, "timestamp", received_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        b.request_id,
        request.params.campaign,
        b.action,
        b.user_id ?? 'guest',
        String(request.headers['x-session-id'] ?? 'anonymous'),
        JSON.stringify(b.data ?? {}),
        JSON.stringify(b.metadata ?? {}),
        now,
        now,
      ],
    )
    return { status: 'success', result: { recorded: true }, request_id: b.request_id }
  },
)

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
const stop = () =>
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
