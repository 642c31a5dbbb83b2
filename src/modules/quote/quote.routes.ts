import { Readable } from 'node:stream'
import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import type { Dispatcher } from '../../nexus/dispatcher.js'
import { dispatchWithPayloadAt } from '../../nexus/payload-paths.js'
import { idempotencyKeyHeader, requestIdFor } from '../../nexus/routes.js'
import type { LeadStatus } from '../../platform/db/tables.js'
import { ValidationError } from '../../platform/http/errors.js'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import { Slug } from '../campaign/campaign.schema.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import { leadsToCsvChunks } from './quote.csv.js'
import {
  type LeadFilters,
  LeadFilters as LeadFiltersSchema,
  LeadIdParams,
  LeadListQuery,
  LeadView,
  OwnLeadView,
  PatchLeadBody,
  SubmitQuoteBody,
  SubmitResult,
} from './quote.schema.js'
import type { QuoteService } from './quote.service.js'

export interface QuoteRoutesOptions {
  quotes: QuoteService
  dispatcher: Dispatcher
  campaigns: Pick<CampaignService, 'get'>
}

const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/

export const quoteRoutes: FastifyPluginAsync<QuoteRoutesOptions> = async (
  app,
  { quotes, dispatcher, campaigns },
) => {
  const tags = ['quote']

  app.post(
    '/api/quote',
    {
      onRequest: app.authenticate,
      // The quote service validates field by field (same errors as the action); only the campaign is read here.
      validatorCompiler: () => () => true,
      schema: {
        operationId: 'submitQuote',
        tags,
        security: SecuredBy,
        description:
          'Submit a lead to a campaign. Runs the `quote.submit` action (same service, idempotency with ' +
          '`Idempotency-Key` or else `X-Request-Id`, analytics event, webhook outbox in the same commit) ' +
          'and answers as the action endpoint does: `request_id` is the HTTP request id.',
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        }),
        body: SubmitQuoteBody,
        response: { 200: SubmitResult, ...errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ValidationError('Body must be a JSON object', [
          { field: '', path: '', message: 'must be an object' },
        ])
      }
      const { campaign, ...data } = body as Record<string, unknown>
      if (typeof campaign !== 'string' || !SLUG.test(campaign)) {
        throw new ValidationError('campaign must be a campaign slug', [
          { field: 'campaign', path: '/campaign', message: 'campaign is required: the slug of the campaign' },
        ])
      }
      const key = idempotencyKeyHeader(request.headers)
      // The form's fields are this body's own: refusals name them at its top level (`/email`).
      const outcome = await dispatchWithPayloadAt('', () =>
        dispatcher.dispatch({
          campaignSlug: campaign,
          body: { action: 'quote.submit', data },
          principal: request.principal!,
          ip: request.ip,
          idempotencyKey: key,
          // As the action endpoint: the HTTP request's id, `X-Request-Id` keying the record.
          ...requestIdFor(request.headers, request.id, key !== undefined),
        }),
      )
      if (outcome.replayed) reply.header('idempotent-replayed', 'true')
      return reply.status(outcome.status_code as 200).send(outcome.body as any)
    },
  )

  app.get(
    '/api/quote/:id',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'getOwnQuote',
        tags,
        security: SecuredBy,
        description:
          'Where a lead stands, for whoever submitted it (the session that sent it, or the user): ' +
          'its status and when it last changed, none of its fields. 404 for anyone else. A page ' +
          'that missed `quote.status` notifications (after `resync_required`) reads it here.',
        params: LeadIdParams,
        response: { 200: OwnLeadView, ...errors(400, 401, 404) },
      },
    },
    async (request) => quotes.own((request.params as { id: string }).id, request.principal!),
  )

  const editor = app.requireRole('editor')
  const admin = app.requireRole('admin')
  const SlugParams = Type.Object({ slug: Slug })

  app.get(
    '/api/campaign/:slug/leads',
    {
      onRequest: editor,
      schema: {
        operationId: 'listLeads',
        tags,
        security: SecuredBy,
        description:
          'Leads matching the filters, newest first, `per_page` at a time. Page with `before` (the ' +
          'last lead id seen) to go on from that lead while leads arrive or change status; `page` ' +
          'alone counts by offset, which such changes shift.',
        params: SlugParams,
        querystring: LeadListQuery,
        response: {
          200: Type.Object({
            leads: Type.Array(LeadView),
            total: Type.Integer(),
            page: Type.Integer(),
            per_page: Type.Integer(),
          }),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      await campaigns.get(slug)
      const { page, per_page, before, ...filters } = request.query as LeadFilters & {
        page: number
        per_page: number
        before?: string
      }
      const { leads, total } = await quotes.list(slug, filters, page, per_page, before)
      return { leads, total, page, per_page }
    },
  )

  app.get(
    '/api/campaign/:slug/leads.csv',
    {
      onRequest: editor,
      schema: {
        operationId: 'exportLeadsCsv',
        tags,
        security: SecuredBy,
        description:
          'Every lead matching the filters as CSV, newest first, streamed; formula-like cells are neutralised.',
        params: SlugParams,
        querystring: LeadFiltersSchema,
        response: { 200: Type.String(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { slug } = request.params as { slug: string }
      await campaigns.get(slug)
      const pages = quotes.exportLeads(slug, request.query as LeadFilters)
      // The first page is read before the answer starts, so a failure there is still an error
      // answer; later pages stream as the client takes them (a failure then cuts the download).
      const first = await pages.next()
      async function* all() {
        if (first.done) return
        yield first.value
        yield* pages
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${slug}-leads.csv"`)
        .send(Readable.from(leadsToCsvChunks(all()), { objectMode: false }))
    },
  )

  app.get(
    '/api/campaign/:slug/leads/:id',
    {
      onRequest: editor,
      schema: {
        operationId: 'getLead',
        tags,
        security: SecuredBy,
        params: Type.Object({ slug: Slug, id: Type.String({ maxLength: 64 }) }),
        response: { 200: LeadView, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { slug, id } = request.params as { slug: string; id: string }
      // As the list does: a mistyped slug is `CAMPAIGN_NOT_FOUND`, not a lead that is gone.
      await campaigns.get(slug)
      return quotes.get(slug, id)
    },
  )

  app.patch(
    '/api/campaign/:slug/leads/:id',
    {
      onRequest: editor,
      schema: {
        operationId: 'updateLeadStatus',
        tags,
        security: SecuredBy,
        description:
          'Move a lead along new → contacted → qualified → won | lost (lost from any open stage). The ' +
          'status it already has is a 200 with the lead unchanged: nothing is announced or sent.',
        params: Type.Object({ slug: Slug, id: Type.String({ maxLength: 64 }) }),
        body: PatchLeadBody,
        response: { 200: LeadView, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { slug, id } = request.params as { slug: string; id: string }
      const { status } = request.body as { status: LeadStatus }
      await campaigns.get(slug)
      return quotes.transition(slug, id, status, request.principal!.user_id)
    },
  )

  app.delete(
    '/api/campaign/:slug/leads/:id',
    {
      onRequest: admin,
      schema: {
        operationId: 'eraseLead',
        tags,
        security: SecuredBy,
        description:
          'Erase one lead (a request from someone who submitted a quote without registering): its ' +
          'personal fields are cleared, its unsent webhooks cancelled and scrubbed; the row and the ' +
          'counters stay, and admins hear `lead.updated` with `reason: erased`. Repeating it changes nothing. ' +
          'With Redis unreachable (the realtime replay history is kept there) nothing is erased: 503 ' +
          '`REDIS_UNAVAILABLE` with `Retry-After`; retry.',
        params: Type.Object({ slug: Slug, id: Type.String({ maxLength: 64 }) }),
        response: { 200: LeadView, ...errors(401, 403, 404, 503) },
      },
    },
    async (request) => {
      const { slug, id } = request.params as { slug: string; id: string }
      await campaigns.get(slug)
      return quotes.erase(slug, id, request.principal!.user_id)
    },
  )
}
