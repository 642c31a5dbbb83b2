// A CRM on a real port for webhook tests, and what they ask the app about its endpoints.
import { createHmac } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { HandedRow } from '../src/modules/notification/delivery-worker.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  type Dialect,
  guestToken,
  json,
  type TestContext,
} from './helper.js'
import { waitFor } from './wait-for.js'

export interface Received {
  id: string
  timestamp: number
  signature: string
  body: any
  /** The body as the bytes arrived. */
  raw: string
  verified: boolean
  at: number
}

/**
 * Webhook settings for tests: a poll, a timeout and retries in milliseconds, a breaker that does
 * not trip, and the local receiver allowed.
 */
export const FAST_WEBHOOKS = {
  WEBHOOK_POLL_MS: '50',
  WEBHOOK_TIMEOUT_MS: '3000',
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_MAX_ATTEMPTS: '5',
  WEBHOOK_CIRCUIT_THRESHOLD: '100',
  WEBHOOK_CIRCUIT_COOLDOWN_MS: '60000',
  WEBHOOK_ALLOW_PRIVATE: 'true',
}

/** Standard Webhooks verification, written from the spec (not with the server's own helper). */
export function verifies(
  secret: string,
  id: string,
  timestamp: string,
  body: string,
  header: string,
): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')
  return header.split(' ').some((s) => s === `v1,${expected}`)
}

/** A CRM on a real port: checks every signature, answers with `respond(n)` (n = request number). */
export async function receiver(
  respond: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void = () => {},
) {
  const got: Received[] = []
  let secret = ''
  const server = http.createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => {
      raw += c
    })
    req.on('end', () => {
      const id = String(req.headers['webhook-id'])
      const ts = String(req.headers['webhook-timestamp'])
      const sig = String(req.headers['webhook-signature'])
      got.push({
        id,
        timestamp: Number(ts),
        signature: sig,
        body: JSON.parse(raw),
        raw,
        verified: verifies(secret, id, ts, raw, sig),
        at: Date.now(),
      })
      const n = got.length
      respond(n, req, res)
      if (!res.headersSent && !(res as any).held) {
        res.writeHead(204).end()
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  return {
    url,
    got,
    setSecret: (s: string) => {
      secret = s
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/**
 * Answers a receiver holds until the test says: pass `respond` to `receiver`; every request is
 * kept waiting (still on the wire, for the sender) until `release()`, which answers them 204, as
 * it answers every request after it at once. A test that needs sends to stay in flight while
 * something happens elsewhere waits for that, not for a slow receiver to outlast it.
 */
export function heldAnswers() {
  const waiting: http.ServerResponse[] = []
  let released = false
  return {
    respond(_n: number, _req: http.IncomingMessage, res: http.ServerResponse) {
      if (released) return
      ;(res as any).held = true
      waiting.push(res)
    },
    release() {
      released = true
      for (const res of waiting.splice(0)) res.writeHead(204).end()
    },
  }
}

export { waitFor }

/**
 * Registers `r` as the endpoint of campaign `slug` for `events`, and tells it the secret to
 * verify signatures with.
 */
export async function subscribe(
  app: FastifyInstance,
  slug: string,
  r: Awaited<ReturnType<typeof receiver>>,
  events: string[] = ['lead.created'],
): Promise<{ id: string; secret: string }> {
  const res = await registerWebhook(app, slug, { url: r.url, events })
  assert.equal(res.statusCode, 201, res.body)
  const { id, secret } = json(res)
  r.setSecret(secret)
  return { id, secret }
}

/**
 * A new campaign and a CRM on a real port answering with `respond` (see `receiver`), subscribed
 * to `events` of it (every one unless said): the campaign's slug, the receiver (added to
 * `servers`, which the suite closes), the endpoint's id and its secret.
 */
export async function subscribedEndpoint(
  app: FastifyInstance,
  servers: Array<{ close(): Promise<void> }>,
  respond?: Parameters<typeof receiver>[0],
  events = ['*'],
) {
  const slug = await createCampaign(app)
  const r = await receiver(respond)
  servers.push(r)
  const { id, secret } = await subscribe(app, slug, r, events)
  return { slug, r, id, secret }
}

/** `POST /api/campaign/:slug/webhooks` with `payload`, as an admin unless `headers` say otherwise. */
export function registerWebhook(
  app: FastifyInstance,
  slug: string,
  payload: Record<string, unknown>,
  headers: Record<string, string> = adminHeaders,
) {
  return app.inject({ method: 'POST', url: `/api/campaign/${slug}/webhooks`, headers, payload })
}

/** A lead from `name` <`email`> on campaign `slug`, sent by the session of `token`. */
export function submitLead(app: FastifyInstance, token: string, slug: string, email: string, name = 'Ada') {
  return app.inject({
    method: 'POST',
    url: '/api/quote',
    headers: { authorization: `Bearer ${token}` },
    payload: { campaign: slug, name, email },
  })
}

/** A lead from a new visitor's session (`<email>`), which must be acknowledged. */
export async function guestLead(app: FastifyInstance, slug: string, email: string) {
  const guest = await guestToken(app)
  const res = await submitLead(app, guest.token, slug, email)
  assert.equal(res.statusCode, 200, res.body)
}

/** Campaign `slug`'s first webhook endpoint as an admin lists it (its breaker state included). */
export async function firstEndpoint(app: FastifyInstance, slug: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/api/campaign/${slug}/webhooks`,
    headers: adminHeaders,
  })
  return json(res).webhooks[0]
}

/** The outbox messages of endpoint `id` of campaign `slug`, as an admin lists them. */
export async function webhookMessages(app: FastifyInstance, slug: string, id: string): Promise<any[]> {
  const res = await app.inject({
    method: 'GET',
    url: `/api/campaign/${slug}/webhooks/${id}/messages`,
    headers: adminHeaders,
  })
  return json(res).messages
}

/**
 * A suite's app on `dialect` with `env`, made before its tests; after them it is closed, then every
 * receiver the tests pushed onto `servers`: `suite.ctx` (`suite.app`), `suite.servers`, and
 * `suite.endpoint(respond, events)`, a new campaign whose CRM is subscribed to `lead.created`
 * unless `events` say otherwise (see `subscribedEndpoint`). The suite's own `before` hooks run
 * once the app is made.
 */
export function webhookApp(dialect: Dialect, env: Record<string, string>) {
  let ctx: TestContext | undefined
  const servers: Array<{ close(): Promise<void> }> = []
  before(async () => {
    ctx = await buildTestApp({ dialect, env })
  })
  after(async () => {
    await ctx?.close()
    for (const s of servers) await s.close()
  })
  return {
    get ctx() {
      return ctx!
    },
    get app() {
      return ctx!.app
    },
    servers,
    endpoint: (respond?: Parameters<typeof receiver>[0], events = ['lead.created']) =>
      subscribedEndpoint(ctx!.app, servers, respond, events),
  }
}

/**
 * Outbox rows for endpoint `webhookId` written as `enqueueMany` leases them (`sending`, first
 * attempt, leased for two minutes), with what `DeliveryWorker.handoff` needs: one per name, about
 * `lead_<name>` (`subject_id` set when `subjects` is true).
 */
export async function handedRows(
  app: FastifyInstance,
  slug: string,
  webhookId: string,
  names: string[],
  subjects = false,
): Promise<HandedRow[]> {
  const db = app.platform.database.db
  const endpoint = await db
    .selectFrom('service_notification_webhook')
    .selectAll()
    .where('id', '=', webhookId)
    .executeTakeFirstOrThrow()
  const rows: HandedRow[] = []
  for (const name of names) {
    const body = JSON.stringify({ type: 'lead.created', data: { lead: { id: `lead_${name}` } } })
    const subject_id = subjects ? `lead_${name}` : null
    const row = await db
      .insertInto('service_notification_outbox')
      .values({
        message_id: `msg_${name}`,
        webhook_id: webhookId,
        campaign_slug: slug,
        event: 'lead.created',
        subject_id,
        payload: body,
        status: 'sending',
        attempts: 1,
        lease_until: new Date(Date.now() + 120_000),
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    rows.push({
      id: Number(row.id),
      message_id: `msg_${name}`,
      webhook_id: webhookId,
      campaign_slug: slug,
      event: 'lead.created',
      body,
      attempts: 1,
      subject_id,
      endpoint,
    })
  }
  return rows
}

/**
 * Endpoint `webhookId`'s circuit cooldown ends (as the clock would end it), and its waiting
 * messages (the refused one's retry included) are due: the worker's next sweep sends the probe.
 */
export async function coolDown(app: FastifyInstance, webhookId: string) {
  const db = app.platform.database.db
  await db
    .updateTable('service_notification_webhook')
    .set({ circuit_open_until: new Date(Date.now() - 1000) })
    .where('id', '=', webhookId)
    .execute()
  await db
    .updateTable('service_notification_outbox')
    .set({ next_attempt_at: new Date(Date.now() - 1000) })
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'pending')
    .execute()
}

/**
 * The half-open probe's set-up, for a suite made with `WEBHOOK_CIRCUIT_THRESHOLD: '1'` and a
 * cooldown the clock never ends: a new campaign's endpoint (closed at first) whose first request
 * was answered 500, so its circuit opened, with `waiting` more leads queued behind it; its later
 * requests are held on the wire (`held`) until the test answers them. `sending()` counts its
 * claimed rows; `coolDown()` ends the cooldown (see `coolDown`).
 */
export async function openedEndpoint(suite: ReturnType<typeof webhookApp>, waiting: number) {
  const held: http.ServerResponse[] = []
  const { r, slug, id } = await suite.endpoint((n, _req, res) => {
    if (n === 1) return void res.writeHead(500).end()
    ;(res as any).held = true
    held.push(res)
  })
  assert.equal((await firstEndpoint(suite.app, slug)).circuit, 'closed')
  await guestLead(suite.app, slug, 'first@example.com')
  await waitFor(async () => (await firstEndpoint(suite.app, slug)).circuit === 'open', 'circuit open')
  for (let i = 0; i < waiting; i++) await guestLead(suite.app, slug, `waiting${i}@example.com`)
  assert.equal(r.got.length, 1, 'nothing is sent while the circuit is open')
  const db = suite.app.platform.database.db
  return {
    r,
    slug,
    id,
    held,
    sending: async () =>
      (
        await db
          .selectFrom('service_notification_outbox')
          .select('id')
          .where('webhook_id', '=', id)
          .where('status', '=', 'sending')
          .execute()
      ).length,
    coolDown: () => coolDown(suite.app, id),
  }
}
