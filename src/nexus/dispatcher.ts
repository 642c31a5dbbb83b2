import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import { actorKey, hasRole, type Principal } from '../platform/auth/principal.js'
import type { Db } from '../platform/db/database.js'
import { newUlid } from '../platform/ids.js'
import {
  AppError,
  BadRequestError,
  ConflictError,
  errorBody,
  ForbiddenError,
  ValidationError,
} from '../platform/http/errors.js'
import { patternMessage, schemaAt } from '../platform/http/pattern-message.js'
import type { Metrics } from '../platform/observability/metrics.js'
import type { OutboundFrame, RealtimePublisher } from '../realtime/publish.js'
import {
  type Campaign,
  type CampaignStatus,
  campaignStatus,
  hasFeature,
} from '../modules/campaign/campaign.schema.js'
import type { CampaignService } from '../modules/campaign/campaign.service.js'
import type { CommitJob, CommitLog, EventRecord } from './commit-log.js'
import type { Envelope, EnvelopeInput, SeedInput } from './envelope.js'
import {
  claim,
  type Fingerprint,
  finishedResponse,
  IDEMPOTENCY_TTL_MS,
  type RequestKey,
  release,
  replayAnswer,
  requestFingerprint,
  requestInProgress,
  sameRequest,
  type SecretResult,
  type StoredResponse,
  storedResponse,
  WAIT_FOR_OTHER_MS,
  withholdSecrets,
} from './idempotency.js'
import type { ActionContext, ActionRegistry, GroupedWrite, RegisteredAction } from './registry.js'

export interface DispatchInput {
  campaignSlug: string
  body: EnvelopeInput | SeedInput
  principal: Principal
  ip: string
  /**
   * The client's User-Agent header (for a WebSocket, the upgrade request's): used only to say
   * where a person signed in (a join's sign-in row, as "Your account" lists it).
   */
  userAgent?: string
  /** From the `Idempotency-Key` header. */
  idempotencyKey?: string
  /** The id to use when the body names none: the HTTP request id the client sent (`X-Request-Id`). */
  fallbackRequestId?: string
  /**
   * The id to use when the client named none: the one this server gave the HTTP request, so logs
   * and body agree. No copy of the request can name it, so it keys no idempotency record.
   */
  serverRequestId?: string
  /**
   * Writes the `update_ack` straight to the socket that sent the action (a WebSocket action: that
   * socket is on this node); false when it could not (the socket closed). Called only when
   * publishing the ack on the bus failed (Redis unreachable), so the client that waits for it
   * still gets its answer instead of giving up (the SDK's `TIMEOUT`) on an action that committed.
   */
  ackLocally?: (frame: OutboundFrame) => boolean
}

export interface DispatchOutcome extends StoredResponse {
  request_id: string
  /** True when this is the stored answer to an earlier copy of the same request. */
  replayed: boolean
  action?: string
}

/** An action that succeeded and committed (see `Dispatcher.onCommitted`). */
export interface CommittedAction {
  campaign: Campaign
  user_id: string
  /** The registered name (`quote.submit`) and the event as the client sent it (`submit_quote`). */
  action: string
  event: string
}

export interface Dispatcher {
  dispatch(input: DispatchInput): Promise<DispatchOutcome>
  /**
   * Tells `listener` of every action that succeeded, once it committed (replays excluded). It
   * runs on the request's path: it must return at once (start its work, do not await it) and
   * its errors are its own.
   */
  onCommitted(listener: (committed: CommittedAction) => void): void
  /**
   * Shutdown, before the database closes: resolves once no dispatch is in flight (those begun
   * meanwhile included) and the commit log has written what was queued. A WebSocket action
   * outlives its socket, which shutdown closes first: without this wait it reached a closed pool
   * after an `immediate` handler had written, its request id left claimed.
   */
  drain(): Promise<void>
}

export interface DispatcherDeps {
  db: Db
  registry: ActionRegistry
  campaigns: Pick<CampaignService, 'get'>
  commitLog: CommitLog
  publisher: RealtimePublisher
  metrics: Pick<Metrics, 'actions' | 'ackPublishesFailed' | 'afterCommitFailures'>
  config: Pick<Config, 'VERSION' | 'ENVIRONMENT'> & Partial<Pick<Config, 'IDEMPOTENCY_WAIT_SECONDS'>>
  /**
   * An `update_ack` the bus did not take, after-commit work that threw and a claim that could not
   * be released are logged here (never silently lost).
   */
  log: Pick<FastifyBaseLogger, 'warn'>
}

/** The payload as the analytics log keeps it: secrets (passwords) never stored. */
function redact(payload: unknown, fields: string[] | undefined): unknown {
  if (!fields?.length || typeof payload !== 'object' || payload === null || Array.isArray(payload))
    return payload
  const copy = { ...(payload as Record<string, unknown>) }
  for (const f of fields) if (f in copy) copy[f] = '[redacted]'
  return copy
}

/**
 * The key of one action's idempotency record. `keyless` when the request id is this server's (the
 * client named none, see `DispatchInput.serverRequestId`): no copy of the request can name it, so
 * nothing is recorded under it, claimed or looked up (Stripe keeps only the keys clients send).
 */
interface ActionKey extends RequestKey {
  keyless: boolean
}

/** What one action commits, before its response is known. */
interface JobParts {
  key: ActionKey
  /** `requestFingerprint` of this request: stored with its record, compared by later copies. */
  fingerprint: Fingerprint
  event: EventRecord
  /** `event:<name>`, counted with `events_total`. */
  counter: string
  writes: Array<(trx: Db) => Promise<void>>
  grouped: GroupedWrite[]
  /** The action's secret result fields: not kept in its idempotency record. */
  secret?: SecretResult
}

// Module-level rather than closures per request: under tsx every named closure costs a
// defineProperty (keepNames), which showed in the action endpoint's profile.
function commitJob(
  parts: JobParts,
  response: StoredResponse,
  claimed: boolean,
  withEvent: boolean,
): CommitJob {
  return {
    request: {
      campaign_slug: parts.key.campaign_slug,
      actor: parts.key.actor,
      request_id: parts.key.request_id,
      status_code: response.status_code,
      response: withholdSecrets(response, parts.secret).body,
      fingerprint: parts.fingerprint.value,
      expires_at: new Date(Date.now() + IDEMPOTENCY_TTL_MS),
    },
    claimed,
    keyless: parts.key.keyless,
    event: withEvent ? parts.event : undefined,
    counters: withEvent ? { events_total: 1, [parts.counter]: 1 } : {},
    session: withEvent
      ? { campaign_slug: parts.event.campaign_slug, session_id: parts.event.session_id }
      : undefined,
    writes: withEvent ? parts.writes : [],
    grouped: withEvent ? parts.grouped : [],
  }
}

function toOutcome(r: StoredResponse, requestId: string, action: string, replayed: boolean): DispatchOutcome {
  // A replay of an answer whose secret was not kept is a refusal naming it (`replayAnswer`).
  const answer = replayed ? replayAnswer(r) : r
  return { status_code: answer.status_code, body: answer.body, request_id: requestId, replayed, action }
}

/**
 * A refusal that tells the client to send the request again later (429, or any with
 * `Retry-After`): not the request's answer, so never recorded as it. Recorded, the retry it asks
 * for (same request_id, after Retry-After) got it back for 24 h while the action never ran, and
 * the first answer lost its `Retry-After` (a record keeps status and body). Stripe keeps no answer
 * for a rate-limited request either.
 */
function comeBackLater(err: AppError): boolean {
  return err.statusCode === 429 || err.headers?.['retry-after'] !== undefined
}

function isEnvelope(body: EnvelopeInput | SeedInput): body is EnvelopeInput {
  return (body as EnvelopeInput).type === 'campaign_event'
}

/**
 * The single action path behind `POST /api/{campaign}/update` and WebSocket `campaign_event`
 * frames: normalise, authorise, resolve, validate, run exactly once, record, acknowledge.
 */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const inFlight = new Map<string, { promise: Promise<DispatchOutcome>; fingerprint: string }>()
  const waitForOtherMs = (deps.config.IDEMPOTENCY_WAIT_SECONDS ?? WAIT_FOR_OTHER_MS / 1000) * 1000
  const listeners: Array<(committed: CommittedAction) => void> = []

  /**
   * Work an action left for after its commit failed. The action committed and its 2xx stands, so
   * the failure never reaches the caller: it is counted and logged (ids only: no user, no payload).
   */
  function afterCommitFailed(
    err: unknown,
    stage: 'after_commit' | 'on_committed',
    envelope: Envelope,
    action: string,
  ) {
    deps.metrics.afterCommitFailures.labels(action).inc()
    deps.log.warn(
      { err, campaign: envelope.campaign_id, action, request_id: envelope.request_id, stage },
      'after-commit work failed; the action committed and was answered',
    )
  }

  /** `ctx.afterCommit` tasks, once the action's writes committed; detached from the request. */
  function runAfterCommit(tasks: Array<() => void | Promise<void>>, envelope: Envelope, action: string) {
    for (const task of tasks) {
      void Promise.resolve()
        .then(task)
        .catch((err: unknown) => afterCommitFailed(err, 'after_commit', envelope, action))
    }
  }

  function tellCommitted(campaign: Campaign, envelope: Envelope, action: string) {
    if (listeners.length === 0) return
    const committed = { campaign, user_id: envelope.user.user_id, action, event: envelope.event }
    for (const listener of listeners) {
      try {
        listener(committed)
      } catch (err) {
        // A listener's failure is its own (the action committed and is answered), but not silent.
        afterCommitFailed(err, 'on_committed', envelope, action)
      }
    }
  }

  function normalise(input: DispatchInput, now: Date): Envelope {
    const { body, principal } = input
    const envelope = isEnvelope(body)
    const claimedUser = envelope ? body.user?.user_id : body.user_id
    if (claimedUser !== undefined && claimedUser !== principal.user_id) {
      throw new ForbiddenError('The envelope names another user than the authenticated one', 'USER_MISMATCH')
    }
    const claimedSession = envelope ? body.user?.session_id : undefined
    if (claimedSession !== undefined && claimedSession !== principal.session_id) {
      throw new ForbiddenError(
        'The envelope names another session than the authenticated one',
        'USER_MISMATCH',
      )
    }
    const campaignId = body.campaign_id
    if (campaignId !== undefined && campaignId !== input.campaignSlug) {
      throw new BadRequestError('campaign_id does not match the campaign in the path', 'CAMPAIGN_MISMATCH')
    }
    // Object.assign rather than `{ ...x, more }`, which V8 runs on a slow path (per request here).
    const versioning = Object.assign({}, body.metadata?.versioning as object | undefined, {
      system_version: deps.config.VERSION,
      service_version: deps.config.VERSION,
      environment: deps.config.ENVIRONMENT,
    })
    const metadata = Object.assign({}, body.metadata, { versioning })
    return {
      type: 'campaign_event',
      campaign_id: input.campaignSlug,
      user: { user_id: principal.user_id, session_id: principal.session_id, roles: principal.roles.slice() },
      event: envelope ? body.event : body.action,
      payload: (envelope ? body.payload : body.data) ?? {},
      metadata,
      timestamp: (envelope && body.timestamp) || now.toISOString(),
      received_at: now.toISOString(),
      request_id:
        body.request_id ??
        input.idempotencyKey ??
        input.fallbackRequestId ??
        input.serverRequestId ??
        newUlid(),
    }
  }

  const ACTIVE_ONLY: readonly CampaignStatus[] = ['active']

  function authorise(action: RegisteredAction, campaign: Campaign, principal: Principal, envelope: Envelope) {
    const status = campaignStatus(campaign)
    if (!(action.statuses ?? ACTIVE_ONLY).includes(status)) {
      throw new ConflictError(`Campaign ${campaign.slug} is ${status}`, 'CAMPAIGN_NOT_ACTIVE', { status })
    }
    if (!hasFeature(campaign, action.feature)) {
      throw new ForbiddenError(
        `The ${action.feature} feature is not enabled for ${campaign.slug}`,
        'FEATURE_DISABLED',
      )
    }
    if (!hasRole(principal, action.role)) {
      throw new ForbiddenError(`${action.name} requires the ${action.role} role`, 'FORBIDDEN')
    }
    if (!action.validator.Check(envelope.payload)) {
      const details = [...action.validator.Errors(envelope.payload)].slice(0, 20).map((e) => ({
        path: `/payload${e.instancePath}`,
        message:
          e.keyword === 'pattern'
            ? patternMessage(schemaAt(action.payload, e.schemaPath), e.message)
            : e.message,
      }))
      throw new ValidationError(`Payload for ${action.name} is invalid`, details)
    }
  }

  function success(result: { result: unknown; message?: string }, requestId: string): StoredResponse {
    const body: Record<string, unknown> = {
      status: 'success',
      result: result.result ?? null,
      request_id: requestId,
    }
    if (result.message) body.message = result.message
    return { status_code: 200, body }
  }

  /**
   * A refusal (4xx) of a request whose request_id already has a finished answer: that answer. A
   * retry must get the first response even when running it again would now be refused (the quote
   * rate limit its first copy used up, a campaign that ended since), and a `deferred` action
   * only learns it is a repeat at its commit, after its checks and handler ran.
   */
  async function replayInstead(
    err: unknown,
    envelope: Envelope,
    key: ActionKey,
    fingerprint: Fingerprint,
  ): Promise<DispatchOutcome> {
    if (
      !key.keyless &&
      err instanceof AppError &&
      err.statusCode < 500 &&
      err.code !== 'REQUEST_IN_PROGRESS' &&
      err.code !== 'IDEMPOTENCY_KEY_REUSED'
    ) {
      const earlier = await finishedResponse(deps.db, key).catch(() => undefined)
      if (earlier) {
        const action = deps.registry.resolve(envelope.event)?.name ?? envelope.event
        return toOutcome(sameRequest(earlier, fingerprint), envelope.request_id, action, true)
      }
    }
    throw err
  }

  async function runOrReplay(
    input: DispatchInput,
    envelope: Envelope,
    key: ActionKey,
    fingerprint: Fingerprint,
  ) {
    try {
      return await run(input, envelope, key, fingerprint)
    } catch (err) {
      return replayInstead(err, envelope, key, fingerprint)
    }
  }

  async function run(
    input: DispatchInput,
    envelope: Envelope,
    key: ActionKey,
    fingerprint: Fingerprint,
  ): Promise<DispatchOutcome> {
    const campaign = await deps.campaigns.get(input.campaignSlug)
    const action = deps.registry.resolve(envelope.event)
    if (!action) {
      const meant = deps.registry.suggest(envelope.event)
      throw new BadRequestError(
        meant
          ? `Unknown action ${envelope.event}; did you mean ${meant}?`
          : `Unknown action ${envelope.event}`,
        'UNKNOWN_ACTION',
      )
    }
    authorise(action, campaign, input.principal, envelope)

    const writes: Array<(trx: Db) => Promise<void>> = []
    const grouped: GroupedWrite[] = []
    const committed: Array<() => void | Promise<void>> = []
    const ctx: ActionContext = {
      envelope,
      principal: input.principal,
      campaign,
      ip: input.ip,
      userAgent: input.userAgent,
      recorded: !key.keyless,
      defer(w) {
        writes.push(w)
      },
      deferGrouped(group, item) {
        grouped.push({ group, item })
      },
      afterCommit(task) {
        committed.push(task)
      },
    }
    const parts: JobParts = {
      key,
      fingerprint,
      event: {
        event_id: envelope.request_id,
        campaign_slug: campaign.slug,
        event: envelope.event,
        user_id: envelope.user.user_id,
        session_id: envelope.user.session_id,
        payload: redact(envelope.payload, action.sensitive),
        metadata: envelope.metadata,
        timestamp: envelope.timestamp,
        received_at: envelope.received_at,
      },
      counter: `event:${deps.registry.isFallback(action) ? envelope.event : action.name}`,
      writes,
      grouped,
      secret: action.secretResult,
    }
    if (action.writes === 'deferred') {
      const response = success(await action.handler(ctx, envelope.payload), envelope.request_id)
      const job = commitJob(parts, response, false, true)
      // The answer is this commit's or the stored first one, never a success nothing recorded: a
      // record that expired or was purged between the commit and the read is committed over.
      for (let attempt = 0; attempt < 2; attempt++) {
        const { duplicate } = await deps.commitLog.commit(job)
        if (!duplicate) {
          runAfterCommit(committed, envelope, action.name)
          tellCommitted(campaign, envelope, action.name)
          return toOutcome(response, envelope.request_id, action.name, false)
        }
        const stored = await storedResponse(deps.db, key, waitForOtherMs)
        if (stored) return toOutcome(sameRequest(stored, fingerprint), envelope.request_id, action.name, true)
      }
      throw requestInProgress('A request with this request_id could not be recorded; retry after Retry-After')
    }

    const earlier = key.keyless ? undefined : await claim(deps.db, key, fingerprint.value, waitForOtherMs)
    if (earlier) return toOutcome(sameRequest(earlier, fingerprint), envelope.request_id, action.name, true)
    let response: StoredResponse
    try {
      response = success(await action.handler(ctx, envelope.payload), envelope.request_id)
    } catch (err) {
      if (!(err instanceof AppError) || err.statusCode >= 500 || comeBackLater(err)) {
        // Nothing committed; the handler's error is the answer, thrown with its headers. A claim
        // left behind turns retries of this request_id away (REQUEST_IN_PROGRESS) until it goes
        // stale, so it is logged.
        if (!key.keyless)
          await release(deps.db, key).catch((releaseErr: unknown) =>
            deps.log.warn(
              {
                err: releaseErr,
                campaign: key.campaign_slug,
                action: action.name,
                request_id: key.request_id,
              },
              'idempotency claim not released after a failed action; retries wait until it goes stale',
            ),
          )
        throw err
      }
      const failed = { status_code: err.statusCode, body: errorBody(err, envelope.request_id) }
      // Recorded so that a retry gets the same refusal; a keyless one has no retry to answer.
      if (!key.keyless) await deps.commitLog.commit(commitJob(parts, failed, true, false))
      return toOutcome(failed, envelope.request_id, action.name, false)
    }
    await deps.commitLog.commit(commitJob(parts, response, !key.keyless, true))
    runAfterCommit(committed, envelope, action.name)
    tellCommitted(campaign, envelope, action.name)
    return toOutcome(response, envelope.request_id, action.name, false)
  }

  return {
    onCommitted(listener) {
      listeners.push(listener)
    },
    async drain() {
      // Every dispatch past `normalise` is in `inFlight` until it settles (copies wait on it).
      while (inFlight.size > 0) await Promise.allSettled(Array.from(inFlight.values(), (f) => f.promise))
      await deps.commitLog.flush()
    },
    async dispatch(input) {
      const envelope = normalise(input, new Date())
      const key: ActionKey = {
        campaign_slug: input.campaignSlug,
        actor: actorKey(input.principal),
        request_id: envelope.request_id,
        keyless:
          input.body.request_id === undefined &&
          input.idempotencyKey === undefined &&
          input.fallbackRequestId === undefined,
      }
      // The registered name, so an alias and its name are one action; fallback events are their own.
      const resolved = deps.registry.resolve(envelope.event)
      const fingerprint = requestFingerprint(
        resolved && !deps.registry.isFallback(resolved) ? resolved.name : envelope.event,
        envelope.payload,
      )
      const flightKey = `${key.campaign_slug}\u0000${key.actor}\u0000${key.request_id}`
      const existing = inFlight.get(flightKey)
      if (existing) return { ...(await sameRequest(existing, fingerprint).promise), replayed: true }
      const promise = runOrReplay(input, envelope, key, fingerprint)
      inFlight.set(flightKey, { promise, fingerprint: fingerprint.value })
      try {
        const result = await promise
        deps.metrics.actions.inc({
          action: result.action ?? envelope.event,
          outcome:
            result.status_code < 400 ? 'ok' : String((result.body as any)?.error?.code ?? result.status_code),
        })
        void publishAck(result, input)
        return result
      } catch (err) {
        deps.metrics.actions.inc({
          action: envelope.event,
          outcome: err instanceof AppError ? err.code : 'INTERNAL',
        })
        throw err
      } finally {
        inFlight.delete(flightKey)
      }
    },
  }

  /**
   * The `update_ack` goes to the caller's sockets on every node through the bus, the socket that
   * sent a WebSocket action included (even on this node). When the bus does not take it (Redis
   * down), nobody would get it: that socket gets it straight from here when it is on this node
   * (`ackLocally`), and the failure is counted and logged (ids only: no user, no payload). Never
   * rejects: it runs detached from the request.
   */
  async function publishAck(result: DispatchOutcome, input: DispatchInput) {
    const { principal, campaignSlug: campaign } = input
    const body = result.body as Record<string, unknown>
    const audience =
      principal.user_id === 'guest'
        ? ({ scope: 'session', campaign, session_id: principal.session_id } as const)
        : ({ scope: 'user', campaign, user_id: principal.user_id } as const)
    const frame: OutboundFrame = {
      type: 'update_ack',
      request_id: result.request_id,
      action: result.action,
      status: body.status,
      ...(body.status === 'success' ? { result: body.result } : { error: body.error }),
    }
    try {
      await deps.publisher.publish(audience, frame)
    } catch (err) {
      let local = false
      try {
        local = input.ackLocally?.(frame) === true
      } catch {
        // The socket's own failure: the ack is counted as undelivered below.
      }
      deps.metrics.ackPublishesFailed.labels(local ? 'delivered_locally' : 'undelivered').inc()
      deps.log.warn(
        { err, campaign, action: result.action, request_id: result.request_id, delivered_locally: local },
        local
          ? 'update_ack publish failed; written to the sending socket on this node only'
          : 'update_ack publish failed; no socket got it',
      )
    }
  }
}
