import { newUlid } from '../../platform/ids.js'
import type { ActionContext, ActionResult, WriteGroup } from '../../nexus/registry.js'
import { addToCounters } from '../../platform/db/counters.js'
import type { Db } from '../../platform/db/database.js'
import type { LeadStatus } from '../../platform/db/tables.js'
import type { Principal } from '../../platform/auth/principal.js'
import { clientNetwork } from '../../platform/http/client-network.js'
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  TooManyRequestsError,
  UnprocessableError,
} from '../../platform/http/errors.js'
import type { RateLimiter } from '../../platform/http/rate-limiter.js'
import type { RealtimePublisher } from '../../realtime/publish.js'
import type { HandedRow } from '../notification/delivery-worker.js'
import type { WebhookService } from '../notification/webhook.service.js'
import { scrubSubmitterEvents } from '../analytics/analytics.erase.js'
import { type ReaderTranslator, readerWords } from '../localization/reader-words.js'
import { isDisposableEmail } from '../user/email.js'
import { leadEmail } from './lead-email.js'
import * as repo from './quote.repo.js'
import {
  type LeadEventExtra,
  type LeadFilters,
  type LeadView,
  type OwnLeadView,
  SUBMIT_EVENTS,
  TRANSITIONS,
} from './quote.schema.js'
import { validateQuote } from './quote.validate.js'

export interface QuoteService {
  /** The one submit path: the `quote.submit` action and `POST /api/quote` both end here. */
  submit(ctx: ActionContext, payload: unknown): Promise<ActionResult>
  /** A page of leads, newest first; `before` (the last lead id seen) pages on from that lead. */
  list(
    campaign: string,
    filters: LeadFilters,
    page: number,
    perPage: number,
    before?: string,
  ): Promise<{ leads: LeadView[]; total: number }>
  /**
   * Every lead matching the filters, newest first, a page at a time: an export of any size is
   * read and sent as it goes, never held whole.
   */
  exportLeads(campaign: string, filters: LeadFilters): AsyncGenerator<LeadView[]>
  get(campaign: string, id: string): Promise<LeadView>
  /**
   * Where a lead stands, for its submitter (the session that sent it, or the user): anyone else
   * is told it does not exist. How a page that missed status notifications catches up.
   */
  own(id: string, principal: Pick<Principal, 'user_id' | 'session_id'>): Promise<OwnLeadView>
  /**
   * Editors move a lead along its lifecycle; the submitter and admins hear of it. Its own status
   * again is no move: the lead as it is, nothing written, announced or queued.
   */
  transition(campaign: string, id: string, to: LeadStatus, actor: string): Promise<LeadView>
  /**
   * GDPR erasure of one lead (an admin acting on a request from someone who never registered):
   * its personal fields cleared, its unsent webhooks cancelled and their payloads scrubbed; the
   * row and every counter stay. Erasing an erased lead changes nothing.
   */
  erase(campaign: string, id: string, actor: string): Promise<LeadView>
  /**
   * GDPR erasure by email (all campaigns, or one; with `sentBy`, the leads first sent by then):
   * PII cleared, rows and counters kept.
   */
  eraseByEmail(email: string, options?: { campaign?: string; sentBy?: Date; trx?: Db }): Promise<number>
  /** Erasure of every lead a user submitted (the users module's erase calls this). */
  eraseByUser(userId: string, trx?: Db): Promise<number>
}

export interface QuoteServiceDeps {
  db: Db
  limiter: RateLimiter
  publisher: RealtimePublisher
  webhooks: Pick<WebhookService, 'enqueue' | 'deliver' | 'scrubSubjects' | 'nudge'>
  /** A status notification in the lead's locale (see `readerWords`); English without it. */
  translate?: ReaderTranslator
  /** A status notification sent in English because its words could not be translated. */
  onUntranslated?: (err: unknown) => void
}

interface RateRule {
  max: number
  window_seconds: number
}

/** How a lead's `campaign_event`s are named to the replay history (see `RealtimePublisher`). */
const leadSubject = (id: string) => `lead:${id}`

const DEFAULT_RATE: RateRule = { max: 10, window_seconds: 600 }
const EXPORT_PAGE_ROWS = 1000

const STATUS_MESSAGES: Record<LeadStatus, string> = {
  new: 'Your quote request was received',
  contacted: 'Your quote is being processed',
  qualified: 'Your quote is being processed',
  won: 'Your quote was accepted',
  lost: 'Your quote request was closed',
}

export function toLeadView(r: repo.LeadRow): LeadView {
  return {
    id: r.id,
    campaign: r.campaign_slug,
    status: r.status,
    name: r.name,
    email: r.email,
    company: r.company,
    phone: r.phone,
    message: r.message,
    budget: r.budget,
    interest: r.interest,
    locale: r.locale,
    consent: r.consent,
    consent_at: r.consent_at ? r.consent_at.toISOString() : null,
    metadata: r.metadata,
    submissions: r.submissions,
    user_id: r.user_id,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    erased: r.erased_at !== null,
  }
}

function rateRule(rules: Record<string, unknown>): RateRule {
  const r = rules.quote_rate_limit as Partial<RateRule> | undefined
  const max = Number(r?.max)
  const win = Number(r?.window_seconds)
  return {
    max: Number.isFinite(max) && max > 0 ? max : DEFAULT_RATE.max,
    window_seconds: Number.isFinite(win) && win > 0 ? win : DEFAULT_RATE.window_seconds,
  }
}

/** One submission's deferred write (see `leadWriter`); `written` is filled in by the commit. */
interface LeadWrite extends repo.LeadSubmission {
  /** The answer: a new lead until the commit, which sets what it did. */
  answer: { lead_id: string; status: LeadStatus; updated: boolean }
  written?: { lead: repo.LeadRow; event: 'lead.created' | 'lead.updated' }
  /** The webhook rows its batch queued, shared by the batch's items: the first to hear of the commit sends them. */
  outbox?: { rows: HandedRow[]; handed: boolean }
}

/**
 * Writes every lead of a commit batch together, in the batch's transaction: one advisory-lock
 * statement for all (campaign, email) pairs, one statement that re-checks the dedupe window under
 * those locks and inserts or merges, one multi-row outbox INSERT. A later submission in the batch
 * with an email already in it goes in a later round of that statement, so it merges into the lead
 * the earlier one wrote: the result is the one a job-by-job run would give.
 */
function leadWriter(webhooks: QuoteServiceDeps['webhooks']): WriteGroup<LeadWrite> {
  return {
    async write(trx, items, batch) {
      await repo.lockEmails(
        trx,
        items.map((i) => ({ campaign: i.campaign, email: i.values.email })),
      )
      for (const round of rounds(items)) {
        const written = await repo.writeLeads(trx, round)
        round.forEach((item, k) => {
          const w = written[k]!
          item.written = w
          item.answer.lead_id = w.lead.id
          item.answer.status = w.lead.status
          item.answer.updated = w.event === 'lead.updated'
        })
      }
      // `leads` counts people who asked, once each: not a resubmission merged into its lead, not
      // a honeypot's fake success (which writes nothing), unlike the `event:quote.submit` counter.
      const created = new Map<string, number>()
      for (const item of items) {
        if (item.written!.event === 'lead.created')
          created.set(item.campaign, (created.get(item.campaign) ?? 0) + 1)
      }
      for (const [campaign, n] of created)
        await addToCounters(trx, campaign, { leads: n }, batch.counterShard)
      const rows = await webhooks.enqueue(
        trx,
        items.map((item) => ({
          campaign: item.campaign,
          event: item.written!.event,
          subjectId: item.written!.lead.id,
          data: {
            lead: toLeadView(item.written!.lead),
            ...(item.written!.event === 'lead.updated' ? { reason: 'resubmitted' } : {}),
          },
        })),
      )
      const outbox = { rows, handed: false }
      for (const item of items) item.outbox = outbox
    },
  }
}

/** Splits a batch so no round holds one (campaign, email) twice: round k has each email's k-th submission. */
function rounds(items: LeadWrite[]): LeadWrite[][] {
  const seen = new Map<string, number>()
  const out: LeadWrite[][] = []
  for (const item of items) {
    const key = repo.emailKey(item.campaign, item.values.email)
    const n = seen.get(key) ?? 0
    seen.set(key, n + 1)
    const round = out[n]
    if (round) round.push(item)
    else out[n] = [item]
  }
  return out
}

export function createQuoteService(deps: QuoteServiceDeps): QuoteService {
  const { db, publisher } = deps
  const leadWrites = leadWriter(deps.webhooks)

  /**
   * What every erasure does, in one transaction: the leads' personal fields cleared, their
   * submissions' analytics events scrubbed (the log keeps a submission's metadata, budget and
   * interest, which the lead row loses: see `scrubSubmitterEvents`), their unsent webhooks
   * cancelled and scrubbed, then a `lead.erased` for each to the CRMs that subscribe, so they
   * erase their copy too. Those are written due rather than handed to this node's worker: an
   * erasure may commit later, in its caller's transaction, and the next sweep sends them.
   */
  async function eraseLeads(trx: Db, where: repo.EraseWhere): Promise<number> {
    const erased = await repo.eraseWhere(trx, where)
    if (erased.length === 0) return 0
    await scrubSubmitterEvents(
      trx,
      SUBMIT_EVENTS,
      erased.map((r) => ({ campaign: r.campaign_slug, session_id: r.session_id, user_id: r.user_id })),
    )
    await deps.webhooks.scrubSubjects(
      erased.map((r) => r.id),
      trx,
    )
    await deps.webhooks.enqueue(
      trx,
      erased.map((r) => ({
        campaign: r.campaign_slug,
        event: 'lead.erased',
        subjectId: r.id,
        data: { lead_id: r.id, campaign: r.campaign_slug, erased_at: r.erased_at!.toISOString() },
      })),
      { handoff: false },
    )
    return erased.length
  }

  const inTransaction = <T>(trx: Db | undefined, fn: (trx: Db) => Promise<T>): Promise<T> =>
    trx ? fn(trx) : db.transaction().execute(fn)

  async function announce(
    lead: repo.LeadRow,
    event: 'lead.created' | 'lead.updated',
    extra: LeadEventExtra = {},
  ) {
    await publisher.publish(
      { scope: 'role', campaign: lead.campaign_slug, role: 'admin' },
      {
        type: 'campaign_event',
        campaign_id: lead.campaign_slug,
        event,
        payload: { lead: toLeadView(lead), ...extra },
        timestamp: new Date().toISOString(),
      },
      // Whom erasure finds it by: the person (see `eraseByUser`, `eraseByEmail`), or the lead (`erase`).
      [leadSubject(lead.id), lead.user_id, lead.email].filter(
        (s): s is string => Boolean(s) && s !== 'guest',
      ),
    )
  }

  /** Each lead's last status notification still to go out: the next one goes after it. */
  const notifying = new Map<string, Promise<void>>()

  /**
   * The submitter's sockets are told their lead moved, in the locale the lead was sent with: the
   * campaign's catalog (`notification.quote.{status}.message`), else translated, else English.
   * The editor's change does not wait for it (a translation may wait on LibreTranslate): the
   * words are found at once, and each lead's notifications go out in the order of its changes,
   * so a slow "being processed" never follows a quick "accepted".
   */
  function notifySubmitter(lead: repo.LeadRow): void {
    const words = readerWords(
      { message: STATUS_MESSAGES[lead.status] },
      {},
      {
        locale: lead.locale,
        translate: deps.translate,
        prefix: `notification.quote.${lead.status}`,
        campaign: lead.campaign_slug,
      },
      deps.onUntranslated,
    )
    const sent = (notifying.get(lead.id) ?? Promise.resolve())
      .then(async () => {
        const frame = {
          type: 'notification',
          campaign_id: lead.campaign_slug,
          kind: 'quote.status',
          lead_id: lead.id,
          status: lead.status,
          message: (await words).message,
          timestamp: new Date().toISOString(),
        }
        const sends = [
          publisher.publish(
            { scope: 'session', campaign: lead.campaign_slug, session_id: lead.session_id },
            frame,
          ),
        ]
        if (lead.user_id !== 'guest') {
          sends.push(
            publisher.publish({ scope: 'user', campaign: lead.campaign_slug, user_id: lead.user_id }, frame),
          )
        }
        await Promise.all(sends)
      })
      .catch(() => {})
    notifying.set(lead.id, sent)
    void sent.then(() => {
      if (notifying.get(lead.id) === sent) notifying.delete(lead.id)
    })
  }

  return {
    async submit(ctx, payload) {
      const campaign = ctx.campaign.slug
      const rules = (ctx.campaign.metadata.custom_rules ?? {}) as Record<string, unknown>
      const rate = rateRule(rules)
      const decision = await deps.limiter.consume(
        `quote:${campaign}:${clientNetwork(ctx.ip)}`,
        rate.max,
        rate.window_seconds * 1000,
      )
      if (!decision.allowed) {
        throw new TooManyRequestsError(
          decision.retryAfter,
          `Too many quote requests from this address; retry in ${decision.retryAfter} s`,
        )
      }
      const input = validateQuote(payload)
      const received = 'Thanks, your quote request was received'
      if (input.website) {
        // Honeypot filled: answer exactly like a success so the bot learns nothing; store nothing.
        return { result: { lead_id: `lead_${newUlid()}`, status: 'new', updated: false }, message: received }
      }
      if (rules.block_disposable_emails === true && isDisposableEmail(input.email)) {
        throw new UnprocessableError('Disposable email addresses are not accepted', 'DISPOSABLE_EMAIL', [
          { field: 'email', path: '/payload/email', message: 'use a permanent email address' },
        ])
      }
      const values: repo.LeadValues = {
        name: input.name,
        email: input.email,
        company: input.company ?? null,
        phone: input.phone ?? null,
        message: input.message ?? null,
        budget: input.budget === undefined ? null : String(input.budget),
        interest: input.interest ?? null,
        locale: input.locale ?? null,
        consent: input.consent === true,
        metadata: input.metadata ?? {},
      }
      const user = { user_id: ctx.principal.user_id, session_id: ctx.principal.session_id }
      // Whether this makes a lead or joins the email's open one, only the commit can tell (under
      // its lock, see `leadWriter`): it sets the answer, which is sent after it. No read before
      // it, which could only guess (a racing submission, an erasure) and cost a statement.
      const leadId = `lead_${newUlid()}`
      const answer: LeadWrite['answer'] = { lead_id: leadId, status: 'new', updated: false }
      const item: LeadWrite = { campaign, values, user, leadId, answer }
      ctx.deferGrouped(leadWrites, item)
      ctx.afterCommit(async () => {
        const outbox = item.outbox
        if (outbox && !outbox.handed) {
          outbox.handed = true
          deps.webhooks.deliver(outbox.rows)
        }
        const written = item.written
        if (written)
          await announce(
            written.lead,
            written.event,
            written.event === 'lead.updated' ? { reason: 'resubmitted' } : {},
          )
      })
      return {
        result: answer,
        message: received,
      }
    },

    async list(campaign, filters, page, perPage, before) {
      const cursor = before === undefined ? undefined : await repo.listCursor(db, campaign, before)
      if (before !== undefined && !cursor) {
        throw new BadRequestError(
          `before names no lead of ${campaign}: send the id of the last lead of the page before`,
          'INVALID_CURSOR',
        )
      }
      const offset = (page - 1) * perPage
      const { rows, total } = await repo.listLeads(db, campaign, filters, perPage, offset, cursor)
      return { leads: rows.map(toLeadView), total }
    },

    async *exportLeads(campaign, filters) {
      let after: repo.ExportCursor | undefined
      for (;;) {
        const rows = await repo.exportPage(db, campaign, filters, EXPORT_PAGE_ROWS, after)
        if (rows.length > 0) yield rows.map(toLeadView)
        if (rows.length < EXPORT_PAGE_ROWS) return
        const last = rows[rows.length - 1]!
        after = { at: last.cursor_at, id: last.id }
      }
    },

    async get(campaign, id) {
      const lead = await repo.findLead(db, campaign, id)
      if (!lead) throw new NotFoundError(`Lead ${id} not found in ${campaign}`, 'LEAD_NOT_FOUND')
      return toLeadView(lead)
    },

    async own(id, principal) {
      const lead = await repo.findOwnLead(db, id, principal)
      if (!lead) throw new NotFoundError(`Lead ${id} not found`, 'LEAD_NOT_FOUND')
      return {
        lead_id: lead.id,
        campaign: lead.campaign_slug,
        status: lead.status,
        updated_at: lead.updated_at.toISOString(),
      }
    },

    async transition(campaign, id, to, actor) {
      const { lead, from, queued } = await db.transaction().execute(async (trx) => {
        const current = await repo.lockLead(trx, campaign, id)
        if (!current) throw new NotFoundError(`Lead ${id} not found in ${campaign}`, 'LEAD_NOT_FOUND')
        if (current.erased_at) throw new ConflictError(`Lead ${id} was erased`, 'LEAD_ERASED')
        // Already there (a double click, a retried PATCH): nothing to change, announce or send.
        if (current.status === to) return { lead: current, from: to, queued: undefined }
        const allowed = TRANSITIONS[current.status]
        if (!allowed.includes(to)) {
          throw new ConflictError(
            `A ${current.status} lead cannot become ${to}` +
              (allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ' (it is closed)'),
            'INVALID_TRANSITION',
            { from: current.status, to, allowed },
          )
        }
        const updated = await repo.setStatus(trx, id, to)
        const queued = await deps.webhooks.enqueue(trx, {
          campaign,
          event: 'lead.updated',
          subjectId: id,
          data: {
            lead: toLeadView(updated),
            change: { field: 'status', from: current.status, to, by: actor },
          },
        })
        return { lead: updated, from: current.status, queued }
      })
      if (!queued) return toLeadView(lead)
      deps.webhooks.deliver(queued)
      notifySubmitter(lead)
      await announce(lead, 'lead.updated', { change: { field: 'status', from, to, by: actor } }).catch(
        () => {},
      )
      return toLeadView(lead)
    },

    async erase(campaign, id, actor) {
      const lead = await db.transaction().execute(async (trx) => {
        const current = await repo.lockLead(trx, campaign, id)
        if (!current) throw new NotFoundError(`Lead ${id} not found in ${campaign}`, 'LEAD_NOT_FOUND')
        // The replay history's frames about it go in any case: one published while an earlier
        // erasure ran may have escaped it.
        await publisher.forget?.([leadSubject(id)])
        if (current.erased_at) return { row: current, erasedNow: false }
        await eraseLeads(trx, { campaign, id })
        return { row: (await repo.findLead(trx, campaign, id))!, erasedNow: true }
      })
      if (lead.erasedNow) {
        deps.webhooks.nudge()
        await announce(lead.row, 'lead.updated', { reason: 'erased', by: actor }).catch(() => {})
      }
      return toLeadView(lead.row)
    },

    async eraseByEmail(email, { campaign, sentBy, trx } = {}) {
      const typed = email.trim().toLowerCase()
      if (!typed) return 0
      // The stored form of what was given (a look-alike finds its lead), and the address as given.
      const emails = [...new Set([leadEmail(email), typed])]
      return inTransaction(trx, (t) => eraseLeads(t, { emails, campaign, createdBy: sentBy }))
    },

    async eraseByUser(userId, trx) {
      if (!userId || userId === 'guest') return 0
      return inTransaction(trx, (t) => eraseLeads(t, { user_id: userId }))
    },
  }
}
