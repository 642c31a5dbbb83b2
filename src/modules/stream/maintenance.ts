import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { EventBus } from '../../platform/bus/bus.js'
import type { Db } from '../../platform/db/database.js'
import { MESSAGES } from './v1.errors.js'

const KEY = 'maintenance'
const CHANNEL = 'ovasabi:stream:maintenance'
/**
 * Paths that answer during maintenance: health (balancers), metrics, the switch itself, and the
 * `/ws/…` probe, which answers what the upgrade would (maintenance does not refuse `/ws` sockets).
 */
const EXEMPT = /^\/(health(\/|$|\?)|metrics($|\?)|ws\/|api\/v1\/admin\/maintenance($|\?))/

export interface Maintenance {
  /** `MAINTENANCE_MODE` from config, or the admin toggle (stored, shared by every node). */
  enabled(): boolean
  forced: boolean
  set(on: boolean, actor: string): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * How often each node reads the switch again. The bus message is only the fast path: a node that
 * was cut off from Redis when it was sent (pub/sub keeps nothing for it) would otherwise stay in
 * (or out of) maintenance until it restarts.
 */
const RELOAD_MS = 5000

export function createMaintenance(deps: {
  db: Db
  bus: EventBus
  forced: boolean
  reloadMs?: number
}): Maintenance {
  let toggled = false
  let unsubscribe: (() => Promise<void>) | undefined
  let reload: NodeJS.Timeout | undefined
  /** Bumped before and after each local `set`'s write: a read that overlapped it must not undo it. */
  let writes = 0
  async function load() {
    const seen = writes
    const row = await deps.db
      .selectFrom('service_stream_setting')
      .select('value')
      .where('key', '=', KEY)
      .executeTakeFirst()
    if (seen === writes) toggled = (row?.value as { enabled?: boolean } | undefined)?.enabled === true
  }
  return {
    forced: deps.forced,
    enabled: () => deps.forced || toggled,
    async set(on, actor) {
      writes++
      const value = JSON.stringify({ enabled: on, by: actor })
      await deps.db
        .insertInto('service_stream_setting')
        .values({ key: KEY, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
        .execute()
      writes++
      toggled = on
      await deps.bus.publish(CHANNEL, { enabled: on })
    },
    async start() {
      await load()
      // Other nodes reload from the database, which stays the one source of truth.
      unsubscribe = await deps.bus.subscribe(CHANNEL, () => void load().catch(() => {}))
      // A failed read keeps the last known state until the next one.
      reload = setInterval(() => void load().catch(() => {}), deps.reloadMs ?? RELOAD_MS)
      reload.unref()
    },
    async stop() {
      clearInterval(reload)
      await unsubscribe?.()
    },
  }
}

/** A global hook (not encapsulated): during maintenance every route but health answers 503. */
export const maintenancePlugin = fp<{ maintenance: Maintenance }>(
  async (app: FastifyInstance, { maintenance }) => {
    // Callback style: it runs on every request, and an async hook costs a promise each time.
    app.addHook('onRequest', (request, reply, done) => {
      if (!maintenance.enabled() || EXEMPT.test(request.url)) return done()
      reply.status(503).header('retry-after', '60').send({ error: MESSAGES.maintenance, maintenance: true })
    })
  },
  { name: 'ovasabi-stream-maintenance' },
)
