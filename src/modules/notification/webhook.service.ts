import type { EventBus } from '../../platform/bus/bus.js'
import { newUlid } from '../../platform/ids.js'
import type { Db } from '../../platform/db/database.js'
import type { OutboxStatus } from '../../platform/db/tables.js'
import { ConflictError, NotFoundError, retryLaterError } from '../../platform/http/errors.js'
import type { SecretBox } from './secret-box.js'
import { newWebhookSecret } from './signing.js'
import { refuseCredentials, resolveTarget, withoutCredentials } from './target-guard.js'
import type { DeliveryWorker, HandedRow } from './delivery-worker.js'
import { announceEndpointChange, announceErasure } from './worker-channel.js'
import * as repo from './webhook.repo.js'

/** A domain event as CRM endpoints receive it (the Standard Webhooks payload shape). */
export interface WebhookEvent {
  campaign: string
  event: string
  /** What the event is about (a lead id), so erasure can find its messages. */
  subjectId: string | null
  data: object
}

export interface WebhookService {
  register(
    campaign: string,
    input: { url: string; events: string[]; description?: string },
    actor: string,
  ): Promise<{ id: string; secret: string; webhook: ReturnType<typeof view> }>
  list(campaign: string): Promise<Array<ReturnType<typeof view>>>
  remove(campaign: string, id: string): Promise<void>
  /**
   * A new signing secret. The one it replaces keeps signing beside it for `graceSeconds` (default
   * 24 h), so the CRM can switch over without rejecting anything; secrets rotated out earlier keep
   * signing until their own grace periods end (at most `MAX_PREVIOUS_SECRETS` of them, the oldest
   * dropped first). `graceSeconds` 0 stops every previous secret at once (a leaked secret).
   */
  rotate(
    campaign: string,
    id: string,
    graceSeconds?: number,
  ): Promise<{ id: string; secret: string; webhook: ReturnType<typeof view> }>
  /**
   * Ends every rotated-out secret's grace period now: from then on only the current secret signs
   * (the receiver has switched over, or an old secret leaked). Nothing to end is no error.
   */
  endPreviousSecrets(campaign: string, id: string): Promise<ReturnType<typeof view>>
  /**
   * Change where an endpoint sends, what it subscribes to, or its description; its secret, its
   * state and its history stay. Messages already queued go to the new URL; a changed event list
   * applies to events from now on.
   */
  update(
    campaign: string,
    id: string,
    patch: { url?: string; events?: string[]; description?: string },
  ): Promise<ReturnType<typeof view>>
  /**
   * Turn an endpoint disabled by a 410 (or by hand) back on and close its breaker; its waiting
   * messages, retries included, are due at once.
   */
  enable(campaign: string, id: string): Promise<ReturnType<typeof view>>
  deliveries(campaign: string, id: string, opts: { limit: number; before?: number }): Promise<unknown[]>
  messages(
    campaign: string,
    id: string,
    opts: { limit: number; before?: string; status?: OutboxStatus },
  ): Promise<unknown[]>
  replay(campaign: string, id: string, messageId: string): Promise<void>
  /**
   * Replay in bulk: every message created since `since` that did not get through (failed, or
   * recorded while the endpoint was disabled) is sent again, a bounded batch per statement, the
   * worker woken as each lands. Returns how many were queued (those queued before a 410 disabled
   * the endpoint meanwhile included: the 410 cancelled them, and the rest were left).
   */
  recover(campaign: string, id: string, since: Date): Promise<number>
  /** Queue a `webhook.test` message to this endpoint only; returns its message id. */
  sendTest(campaign: string, id: string): Promise<string>
  /**
   * Write the outbox rows for an event (or several, in one statement) inside the caller's
   * transaction. Returns the rows claimed for this node's worker: give them to `deliver` once
   * the transaction committed (never before: a rollback would have sent a phantom).
   */
  enqueue(
    trx: Db,
    event: WebhookEvent | WebhookEvent[],
    options?: {
      /**
       * false: write the rows due (not claimed) and hand nothing back, for a caller that cannot
       * act after its commit; a worker's sweep sends them (sooner after `nudge`). Default true.
       */
      handoff?: boolean
    },
  ): Promise<HandedRow[]>
  /** Wake this node's worker: rows were committed due (see `enqueue`'s `handoff: false`). */
  nudge(): void
  /**
   * Retention: delete finished messages (and their delivery log) older than `retentionDays`;
   * messages still being retried stay. Returns how many went.
   */
  purgeFinished(retentionDays: number): Promise<number>
  /** After the commit that wrote them: this node's worker sends the rows `enqueue` returned. */
  deliver(rows: HandedRow[]): void
  /** Erasure: scrub stored payloads about these subjects, cancel unsent ones. */
  /** Inside the caller's transaction when `trx` is given (erasure runs in one). */
  scrubSubjects(subjectIds: string[], trx?: Db): Promise<void>
}

/** Endpoints per campaign when the deployment does not say (`WEBHOOK_MAX_PER_CAMPAIGN`). */
export const DEFAULT_MAX_PER_CAMPAIGN = 20

/** How long a rotated-out secret keeps signing, unless the rotation says otherwise. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 24 * 60 * 60

/**
 * How many rotated-out secrets may sign beside the current one (so at most four signatures per
 * message). A rotation past this bound stops the oldest one before its grace period ends.
 */
export const MAX_PREVIOUS_SECRETS = 3

/**
 * 409 for a replay of a message whose attempt is under way: it is there, so not a 404, and worth
 * asking again once the attempt's lease ends (`Retry-After`, at least a second).
 */
function messageSending(messageId: string, leaseUntil: Date | null, now = Date.now()) {
  const retryAfterMs = Math.max(1000, (leaseUntil?.getTime() ?? now) - now)
  return retryLaterError(
    409,
    'MESSAGE_SENDING',
    `Message ${messageId} is being sent right now: replay it once this attempt ends`,
    retryAfterMs,
  )
}

/**
 * The endpoint's circuit as `claimDue` acts on it: no hold is closed; a hold whose time passed is
 * half-open (the next sweep sends one waiting message as the probe), and so is one the probe
 * holds while it is out (`probing`: the row `claimDue` marked as the probe, not a send that was
 * already in flight when the circuit opened); any other hold is open, nothing sent until it ends.
 */
function circuitOf(w: repo.WebhookRow, now: Date, probing: boolean): 'closed' | 'open' | 'half-open' {
  if (w.circuit_open_until === null) return 'closed'
  return w.circuit_open_until <= now || probing ? 'half-open' : 'open'
}

/** The rows' ids whose circuit is held and whose probe is out (`circuitOf`). */
function probingAmong(db: Db, rows: repo.WebhookRow[], now = new Date()): Promise<Set<string>> {
  const held = rows.filter((w) => w.circuit_open_until !== null && w.circuit_open_until > now)
  return repo.endpointsProbing(
    db,
    held.map((w) => w.id),
  )
}

/** `probing`: the endpoint's probe is out while its circuit is held (see `probingAmong`). */
export function view(w: repo.WebhookRow, now = new Date(), probing = false) {
  const previous = repo.previousSecretsInGrace(w, now)
  return {
    id: w.id,
    url: withoutCredentials(w.url),
    events: w.events,
    description: w.description,
    enabled: w.enabled,
    disabled_reason: w.disabled_reason,
    disabled_at: w.disabled_at ? w.disabled_at.toISOString() : null,
    consecutive_failures: w.consecutive_failures,
    circuit: circuitOf(w, now, probing),
    circuit_open_until: w.circuit_open_until ? w.circuit_open_until.toISOString() : null,
    previous_secret_expires_at:
      w.previous_secret_sealed && w.previous_secret_expires_at && w.previous_secret_expires_at > now
        ? w.previous_secret_expires_at.toISOString()
        : null,
    previous_secrets: previous.map((s) => ({ expires_at: s.expires_at.toISOString() })),
    created_at: w.created_at.toISOString(),
  }
}

export function eventBody(event: string, data: object, at = new Date()) {
  return { type: event, timestamp: at.toISOString(), data }
}

export function createWebhookService(deps: {
  db: Db
  box: SecretBox
  allowPrivate: boolean
  /** This node's delivery worker: sends what this node commits, and is woken for replays. */
  worker?: Pick<DeliveryWorker, 'leaseMs' | 'handoff' | 'nudge' | 'forget' | 'requeue'>
  /** Carries erasures and endpoint changes to the other nodes' workers (see `worker-channel.ts`). */
  bus?: Pick<EventBus, 'publish'>
  /** Endpoints one campaign may have (`WEBHOOK_MAX_PER_CAMPAIGN`); default `DEFAULT_MAX_PER_CAMPAIGN`. */
  maxPerCampaign?: number
  /** Messages `recover` turns back per statement (default `repo.RECOVER_BATCH`). */
  recoverBatchSize?: number
  onError?: (err: unknown) => void
}): WebhookService {
  const { db, box } = deps

  /** One endpoint as the list shows it: its probe looked for only while its circuit is held. */
  async function shown(row: repo.WebhookRow) {
    const now = new Date()
    return view(row, now, (await probingAmong(db, [row], now)).has(row.id))
  }

  async function get(campaign: string, id: string) {
    const found = await repo.findWebhook(db, campaign, id)
    if (!found) throw new NotFoundError(`Webhook ${id} not found in ${campaign}`, 'WEBHOOK_NOT_FOUND')
    return found
  }

  /**
   * A replay or a test to a disabled endpoint would wait, pending, until someone enabled it (and
   * retention never removes a pending message): refused instead, saying why it is disabled.
   */
  async function getEnabled(campaign: string, id: string) {
    const w = await get(campaign, id)
    if (!w.enabled) {
      throw new ConflictError(
        `Webhook ${id} is disabled (${w.disabled_reason ?? 'by an admin'}): enable it first`,
        'WEBHOOK_DISABLED',
      )
    }
    return w
  }

  /**
   * Endpoint `id` changed in a way a message queued in some node's memory must see (its URL, its
   * secret, or it is gone): every worker gives its queued rows back to the sweep.
   */
  async function endpointChanged(id: string) {
    deps.worker?.requeue([id])
    if (deps.bus) await announceEndpointChange(deps.bus, [id]).catch((err) => deps.onError?.(err))
  }

  return {
    async register(campaign, input, actor) {
      // Checked here too, not only at send time, so an admin learns at once that a URL is refused.
      refuseCredentials((await resolveTarget(input.url, deps.allowPrivate)).url)
      const secret = newWebhookSecret()
      const max = deps.maxPerCampaign ?? DEFAULT_MAX_PER_CAMPAIGN
      const row = await repo.insertWebhook(
        db,
        {
          id: `wh_${newUlid()}`,
          campaign_slug: campaign,
          url: input.url,
          events: input.events,
          description: input.description ?? '',
          secret_sealed: box.seal(secret),
          created_by: actor,
        },
        max,
      )
      if (!row) {
        throw new ConflictError(
          `Campaign ${campaign} has ${max} webhook endpoints, the most it may have: delete one first`,
          'WEBHOOK_LIMIT_REACHED',
          { limit: max },
        )
      }
      return { id: row.id, secret, webhook: view(row) }
    },
    async list(campaign) {
      const now = new Date()
      const rows = await repo.listWebhooks(db, campaign)
      const probing = await probingAmong(db, rows, now)
      return rows.map((w) => view(w, now, probing.has(w.id)))
    },
    async remove(campaign, id) {
      if (!(await repo.deleteWebhook(db, campaign, id))) {
        throw new NotFoundError(`Webhook ${id} not found in ${campaign}`, 'WEBHOOK_NOT_FOUND')
      }
      await endpointChanged(id)
    },
    async rotate(campaign, id, graceSeconds = DEFAULT_ROTATION_GRACE_SECONDS) {
      const secret = newWebhookSecret()
      // Locked, so two rotations at once each keep the secret the other replaced.
      const row = await db.transaction().execute(async (trx) => {
        const current = await repo.findWebhook(trx, campaign, id, true)
        if (!current) throw new NotFoundError(`Webhook ${id} not found in ${campaign}`, 'WEBHOOK_NOT_FOUND')
        const now = new Date()
        const older =
          graceSeconds > 0 ? repo.previousSecretsInGrace(current, now).slice(0, MAX_PREVIOUS_SECRETS - 1) : []
        return repo.updateWebhook(trx, campaign, id, {
          secret_sealed: box.seal(secret),
          previous_secret_sealed: graceSeconds > 0 ? current.secret_sealed : null,
          previous_secret_expires_at: graceSeconds > 0 ? new Date(now.getTime() + graceSeconds * 1000) : null,
          older_secrets: JSON.stringify(
            older.map((s) => ({ sealed: s.sealed, expires_at: s.expires_at.toISOString() })),
          ),
        })
      })
      // What is queued was to be signed with the old secret alone: sign it with the new one too.
      await endpointChanged(id)
      return { id, secret, webhook: await shown(row!) }
    },
    async endPreviousSecrets(campaign, id) {
      const row = await repo.updateWebhook(db, campaign, id, {
        previous_secret_sealed: null,
        previous_secret_expires_at: null,
        older_secrets: '[]',
      })
      if (!row) throw new NotFoundError(`Webhook ${id} not found in ${campaign}`, 'WEBHOOK_NOT_FOUND')
      // Messages queued in memory would still be signed with the secrets just stopped.
      await endpointChanged(id)
      return shown(row)
    },
    async update(campaign, id, patch) {
      await get(campaign, id)
      if (patch.url !== undefined) refuseCredentials((await resolveTarget(patch.url, deps.allowPrivate)).url)
      const row = await repo.updateWebhook(db, campaign, id, {
        url: patch.url,
        events: patch.events && JSON.stringify(patch.events),
        description: patch.description,
      })
      if (!row) throw new NotFoundError(`Webhook ${id} not found in ${campaign}`, 'WEBHOOK_NOT_FOUND')
      if (patch.url !== undefined) await endpointChanged(id)
      return shown(row)
    },
    async enable(campaign, id) {
      await get(campaign, id)
      const row = await db.transaction().execute(async (trx) => {
        const updated = await repo.updateWebhook(trx, campaign, id, {
          enabled: true,
          disabled_reason: null,
          disabled_at: null,
          consecutive_failures: 0,
          circuit_open_until: null,
        })
        // The admin says the receiver works again: what waits for it (a retry hours away after a
        // run of failures, or messages held while it was disabled) goes now, not at its backoff.
        if (updated) await repo.dueNow(trx, id)
        return updated
      })
      if (!row) throw new NotFoundError(`Webhook ${id} not found in ${campaign}`, 'WEBHOOK_NOT_FOUND')
      // Those rows keep their old ids: only a sweep finds them, so ask for one now.
      deps.worker?.nudge({ sweep: true })
      return view(row)
    },
    async deliveries(campaign, id, opts) {
      await get(campaign, id)
      const rows = await repo.listDeliveries(db, id, opts.limit, opts.before)
      return rows.map((r) => ({ ...r, id: Number(r.id), created_at: r.created_at.toISOString() }))
    },
    async messages(campaign, id, { limit, ...page }) {
      await get(campaign, id)
      const rows = await repo.listMessages(db, id, limit, page)
      return rows.map((r) => ({
        ...r,
        next_attempt_at: r.next_attempt_at.toISOString(),
        created_at: r.created_at.toISOString(),
        delivered_at: r.delivered_at ? r.delivered_at.toISOString() : null,
      }))
    },
    async replay(campaign, id, messageId) {
      await getEnabled(campaign, id)
      const replayed = await repo.replay(db, id, messageId)
      if (replayed.outcome === 'erased') {
        throw new ConflictError(
          `Message ${messageId} is about a person who was erased: nothing is left to send`,
          'MESSAGE_ERASED',
        )
      }
      if (replayed.outcome === 'missing') {
        throw new NotFoundError(`Message ${messageId} not found for webhook ${id}`, 'MESSAGE_NOT_FOUND')
      }
      if (replayed.outcome === 'sending') throw messageSending(messageId, replayed.leaseUntil)
      deps.worker?.nudge({ sweep: true })
    },
    async recover(campaign, id, since) {
      await getEnabled(campaign, id)
      // Each batch is committed on its own: this node's worker starts on it while the next is written.
      return repo.recover(db, id, since, {
        batchSize: deps.recoverBatchSize,
        onBatch: () => deps.worker?.nudge({ sweep: true }),
      })
    },
    async sendTest(campaign, id) {
      const w = await getEnabled(campaign, id)
      const messageId = `msg_${newUlid()}`
      await db
        .insertInto('service_notification_outbox')
        .values({
          message_id: messageId,
          webhook_id: w.id,
          campaign_slug: campaign,
          event: 'webhook.test',
          subject_id: null,
          payload: JSON.stringify(eventBody('webhook.test', { campaign, webhook_id: w.id })),
        })
        .execute()
      deps.worker?.nudge()
      return messageId
    },
    nudge() {
      deps.worker?.nudge()
    },
    purgeFinished(retentionDays) {
      return repo.purgeFinished(db, new Date(Date.now() - retentionDays * 24 * 60 * 60_000))
    },
    async enqueue(trx, e, options) {
      const messages = (Array.isArray(e) ? e : [e]).map((m) => ({
        messageId: `msg_${newUlid()}`,
        campaign: m.campaign,
        event: m.event,
        subjectId: m.subjectId,
        payload: eventBody(m.event, m.data),
      }))
      const handoff = options?.handoff !== false
      const leased = await repo.enqueueMany(trx, messages, handoff ? deps.worker?.leaseMs : undefined)
      if (!handoff || leased.length === 0) return []
      const byId = new Map(messages.map((m) => [m.messageId, m]))
      return leased.map((r) => {
        const m = byId.get(r.message_id)!
        return {
          id: r.id,
          message_id: r.message_id,
          webhook_id: r.webhook_id,
          campaign_slug: m.campaign,
          event: m.event,
          subject_id: m.subjectId,
          body: r.body,
          attempts: 1,
          endpoint: r.endpoint,
        }
      })
    },
    deliver(rows) {
      if (rows.length > 0) deps.worker?.handoff(rows)
    },
    async scrubSubjects(ids, trx) {
      await repo.scrubSubjects(trx ?? db, ids)
      if (ids.length === 0) return
      // What this node still holds in memory, unsent, for those people; then every other node.
      deps.worker?.forget(ids)
      // A bus failure leaves those nodes' copies to be sent, but never fails the erasure itself.
      if (deps.bus) await announceErasure(deps.bus, ids).catch((err) => deps.onError?.(err))
    },
  }
}
