import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { hasRole } from '../../platform/auth/principal.js'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import {
  CampaignResponse,
  CreateCampaignBody,
  Slug,
  toCampaignResponse,
  type UpdateCampaignBody,
} from './campaign.schema.js'
import type { CampaignService } from './campaign.service.js'

const SlugParams = Type.Object({ slug: Slug })
const PublicCampaign = Type.Object({
  slug: Type.String(),
  title: Type.String(),
  description: Type.String(),
  status: Type.String(),
  metadata: Type.Object({
    features: Type.Array(Type.String()),
    scheduling: Type.Record(Type.String(), Type.Unknown()),
    tags: Type.Array(Type.String()),
  }),
})

export interface CampaignRoutesOptions {
  campaigns: CampaignService
}

export const campaignRoutes: FastifyPluginAsync<CampaignRoutesOptions> = async (app, { campaigns }) => {
  const tags = ['campaign']

  app.post(
    '/api/campaign',
    {
      onRequest: app.requireRole('editor'),
      schema: {
        operationId: 'createCampaign',
        tags,
        security: SecuredBy,
        body: CreateCampaignBody,
        response: { 201: CampaignResponse, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const created = await campaigns.create(request.body as any, request.principal!.user_id)
      return reply.status(201).send(toCampaignResponse(created))
    },
  )

  app.get(
    '/api/campaign',
    {
      onRequest: app.requireRole('editor'),
      schema: {
        operationId: 'listCampaigns',
        tags,
        security: SecuredBy,
        querystring: Type.Object({
          include_archived: Type.Optional(Type.Boolean()),
          tag: Type.Optional(Type.String({ maxLength: 64 })),
          // Bounded: a huge page made an OFFSET PostgreSQL cannot read (`5e+21`), a 500.
          page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
          per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        }),
        response: {
          200: Type.Object({
            campaigns: Type.Array(CampaignResponse),
            total: Type.Integer(),
            page: Type.Integer(),
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const q = request.query as { include_archived?: boolean; tag?: string; page: number; per_page: number }
      const { rows, total } = await campaigns.list({
        includeArchived: q.include_archived,
        tag: q.tag,
        page: q.page,
        perPage: q.per_page,
      })
      return { campaigns: rows.map((c) => toCampaignResponse(c)), total, page: q.page }
    },
  )

  app.get(
    '/api/campaign/:slug',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'getCampaign',
        tags,
        security: SecuredBy,
        description: 'Editors and admins get the whole campaign; other sessions get its public view.',
        params: SlugParams,
        response: { 200: Type.Union([CampaignResponse, PublicCampaign]), ...errors(401, 404) },
      },
    },
    async (request) => {
      const campaign = await campaigns.get((request.params as { slug: string }).slug)
      const full = toCampaignResponse(campaign)
      if (hasRole(request.principal, 'editor')) return full
      return {
        slug: full.slug,
        title: full.title,
        description: full.description,
        status: full.status,
        metadata: {
          features: campaign.metadata.features ?? [],
          scheduling: campaign.metadata.scheduling ?? {},
          tags: campaign.metadata.tags ?? [],
        },
      }
    },
  )

  app.patch(
    '/api/campaign/:slug',
    {
      onRequest: app.requireRole('editor'),
      schema: {
        operationId: 'updateCampaign',
        tags,
        security: SecuredBy,
        params: SlugParams,
        body: Type.Object(
          {
            title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            description: Type.Optional(Type.String({ maxLength: 5000 })),
            draft: Type.Optional(Type.Boolean()),
            metadata: Type.Optional(CreateCampaignBody.properties.metadata),
            version: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: CampaignResponse, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      return toCampaignResponse(
        await campaigns.update(slug, request.body as UpdateCampaignBody, request.principal!.user_id),
      )
    },
  )

  app.delete(
    '/api/campaign/:slug',
    {
      onRequest: app.requireRole('admin'),
      schema: {
        operationId: 'archiveCampaign',
        tags,
        security: SecuredBy,
        description: 'Archives the campaign: it stays readable, its actions stop.',
        params: SlugParams,
        response: { 200: CampaignResponse, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      return toCampaignResponse(await campaigns.archive(slug, request.principal!.user_id))
    },
  )

  app.get(
    '/api/campaign/:slug/stats',
    {
      onRequest: app.requireRole('editor'),
      schema: {
        operationId: 'getCampaignStats',
        tags,
        security: SecuredBy,
        params: SlugParams,
        response: {
          200: Type.Object({
            campaign: Type.String(),
            status: Type.String(),
            events_total: Type.Integer(),
            sessions: Type.Integer(),
            events: Type.Record(Type.String(), Type.Integer()),
            counters: Type.Record(Type.String(), Type.Integer()),
          }),
          ...errors(401, 403, 404),
        },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      const campaign = await campaigns.get(slug)
      const counters = await campaigns.counters(slug)
      const events: Record<string, number> = {}
      const other: Record<string, number> = {}
      for (const [name, count] of Object.entries(counters)) {
        if (name.startsWith('event:')) events[name.slice(6)] = count
        else other[name] = count
      }
      return {
        campaign: slug,
        status: toCampaignResponse(campaign).status,
        events_total: other.events_total ?? 0,
        sessions: other.sessions ?? 0,
        events,
        counters: other,
      }
    },
  )

  app.get(
    '/api/campaign/:slug/audit',
    {
      onRequest: app.requireRole('editor'),
      schema: {
        operationId: 'getCampaignAudit',
        tags,
        security: SecuredBy,
        params: SlugParams,
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
        response: {
          200: Type.Object({
            entries: Type.Array(
              Type.Object({
                id: Type.Integer(),
                actor: Type.String(),
                action: Type.String(),
                changes: Type.Unknown(),
                at: Type.String(),
              }),
            ),
          }),
          ...errors(401, 403, 404),
        },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      await campaigns.get(slug)
      const rows = await campaigns.audit(slug, (request.query as { limit: number }).limit)
      return { entries: rows.map((r) => ({ ...r, id: Number(r.id), at: r.at.toISOString() })) }
    },
  )
}
