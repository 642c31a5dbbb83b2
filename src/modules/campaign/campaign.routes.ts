import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { hasRole } from '../../platform/auth/principal.js'
import { BadRequestError, NotFoundError, UnsupportedMediaTypeError } from '../../platform/http/errors.js'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import {
  type Campaign,
  CampaignResponse,
  campaignStatus,
  CreateCampaignBody,
  MergePatchCampaignBody,
  Slug,
  toCampaignResponse,
  UpdateCampaignBody,
} from './campaign.schema.js'
import type { CampaignService } from './campaign.service.js'
import { PublicCampaign, toPublicCampaign } from './campaign.view.js'

/**
 * Tracked event names listed in a campaign's stats: any dotted event a visitor sends is counted
 * under its own name, so the list is the most counted ones, not every name ever sent.
 */
const MAX_STATS_EVENTS = 100

const SlugParams = Type.Object({ slug: Slug })
/** The precondition every change of a campaign takes (PATCH, archive, unarchive). */
const IfMatchHeaders = Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 200 })) })

const MERGE_PATCH = 'application/merge-patch+json'
const PATCH_TYPES = new Set(['application/json', MERGE_PATCH])

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase()
}

/** A campaign's version as an HTTP validator: strong, since a version names one exact state. */
function etag(version: number): string {
  return `"${version}"`
}

/**
 * One element of an `If-Match` list (RFC 9110 §5.6.1, §8.8.3): an entity-tag, weak or strong, or
 * nothing (empty elements are allowed), then the comma or the end.
 */
const IF_MATCH_ELEMENT = /[ \t]*(?:(W\/)?"([^"\x00-\x20\x7f]*)")?[ \t]*(,|$)/y

/**
 * What an `If-Match` asks (RFC 9110 §13.1.1): undefined for none or `*` (any current campaign),
 * else the versions its strong tags name, compared strongly. A weak tag, or one no version has
 * (`"0"`, `"abc"`), names none: the precondition fails, 412. Only a header that is no list of
 * entity-tags (`7`, `"7`, `*, "7"`) is refused, 400 `INVALID_IF_MATCH`.
 */
function ifMatchVersions(header: string | undefined): readonly number[] | undefined {
  if (header === undefined || header.trim() === '*') return undefined
  const versions: number[] = []
  IF_MATCH_ELEMENT.lastIndex = 0
  for (;;) {
    const m = IF_MATCH_ELEMENT.exec(header)
    if (!m)
      throw new BadRequestError(
        'If-Match must be * or a list of ETags of this campaign, like "7"',
        'INVALID_IF_MATCH',
      )
    const [, weak, tag] = m
    if (!weak && tag !== undefined && /^[1-9]\d{0,15}$/.test(tag)) versions.push(Number(tag))
    if (m[3] === '') return versions
  }
}

export interface CampaignRoutesOptions {
  campaigns: CampaignService
}

export const campaignRoutes: FastifyPluginAsync<CampaignRoutesOptions> = async (app, { campaigns }) => {
  const tags = ['campaign']
  /** Its `problems` as the service finds them: the rules too, which need the action registry. */
  const editorsView = (c: Campaign) => toCampaignResponse(c, campaigns.problems(c))

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
      return reply.status(201).header('etag', etag(created.version)).send(editorsView(created))
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
      return { campaigns: rows.map((c) => editorsView(c)), total, page: q.page }
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
        description:
          'Editors and admins get the whole campaign; other sessions get its public view. A draft ' +
          '(or a campaign held as one, see `problems`) is not announced yet: to anyone else it is 404 ' +
          '`CAMPAIGN_NOT_FOUND`, as an unknown slug is, so drafts cannot be found by trying slugs.',
        params: SlugParams,
        response: { 200: Type.Union([CampaignResponse, PublicCampaign]), ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      const { slug } = request.params as { slug: string }
      const campaign = await campaigns.get(slug)
      if (hasRole(request.principal, 'editor'))
        return reply.header('etag', etag(campaign.version)).send(editorsView(campaign))
      // The same answer, word for word, as `campaigns.get` gives for a slug that names nothing.
      if (campaignStatus(campaign) === 'draft')
        throw new NotFoundError(`Campaign ${slug} does not exist`, 'CAMPAIGN_NOT_FOUND')
      return toPublicCampaign(campaign)
    },
  )

  app.patch(
    '/api/campaign/:slug',
    {
      onRequest: app.requireRole('editor'),
      // Fastify validates a body only against the schema of its own media type: any other JSON
      // type (our parser takes every `+json`) would pass unchecked, so it is refused first.
      preValidation: async (request) => {
        if (!PATCH_TYPES.has(mediaType(request.headers['content-type']))) {
          throw new UnsupportedMediaTypeError(
            'Send application/json (fields replace, metadata whole) or application/merge-patch+json',
          )
        }
      },
      schema: {
        operationId: 'updateCampaign',
        tags,
        security: SecuredBy,
        description:
          'As `application/json`, the fields given replace the stored ones (`metadata` whole); as ' +
          '`application/merge-patch+json` (RFC 7396) `metadata` merges into the stored one and `null` ' +
          'removes a key; a top-level `null` resets `description` (`""`), `draft` (`false`), ' +
          '`metadata` (none set) and `version` (no precondition), and is refused for `title` (400 ' +
          'naming `/title`). `If-Match` (the `ETag` of a read) or `version` refuse the change when the ' +
          'campaign moved on: 412 and 409. An archived campaign is read-only: 409 `CAMPAIGN_ARCHIVED` ' +
          '(`POST /api/campaign/{slug}/unarchive` takes it back).',
        params: SlugParams,
        headers: IfMatchHeaders,
        body: {
          content: {
            'application/json': { schema: UpdateCampaignBody },
            'application/merge-patch+json': { schema: MergePatchCampaignBody },
          },
        },
        response: { 200: CampaignResponse, ...errors(400, 401, 403, 404, 409, 412, 415) },
      },
    },
    async (request, reply) => {
      const { slug } = request.params as { slug: string }
      const { version, ...fields } = request.body as UpdateCampaignBody | MergePatchCampaignBody
      // A merge patch's `"version": null` removes the member: no version to compare with.
      const expect = { version: version ?? undefined, ifMatch: ifMatchVersions(request.headers['if-match']) }
      const merge = mediaType(request.headers['content-type']) === MERGE_PATCH
      const updated = await campaigns.update(
        slug,
        merge
          ? { fields: fields as MergePatchCampaignBody, merge, ...expect }
          : { fields: fields as UpdateCampaignBody, ...expect },
        request.principal!.user_id,
      )
      return reply.header('etag', etag(updated.version)).send(editorsView(updated))
    },
  )

  /** Archive and unarchive: an admin's state change, refused with 412 when `If-Match` is stale. */
  const stateChange = (
    method: 'DELETE' | 'POST',
    url: string,
    operationId: string,
    description: string,
    change: typeof campaigns.archive,
  ) =>
    app.route({
      method,
      url,
      onRequest: app.requireRole('admin'),
      schema: {
        operationId,
        tags,
        security: SecuredBy,
        description,
        params: SlugParams,
        headers: IfMatchHeaders,
        response: { 200: CampaignResponse, ...errors(400, 401, 403, 404, 412) },
      },
      handler: async (request, reply) => {
        const { slug } = request.params as { slug: string }
        const expect = { ifMatch: ifMatchVersions(request.headers['if-match']) }
        const changed = await change(slug, request.principal!.user_id, expect)
        return reply.header('etag', etag(changed.version)).send(editorsView(changed))
      },
    })
  stateChange(
    'DELETE',
    '/api/campaign/:slug',
    'archiveCampaign',
    'Archives the campaign: it stays readable, its actions stop, and it is read-only until ' +
      'unarchived. `If-Match` (the `ETag` of a read) refuses it when the campaign moved on: 412 ' +
      '`PRECONDITION_FAILED`, nothing changed.',
    (slug, actor, expect) => campaigns.archive(slug, actor, expect),
  )
  stateChange(
    'POST',
    '/api/campaign/:slug/unarchive',
    'unarchiveCampaign',
    'Takes an archived campaign back, editable again (idempotent: one not archived is as is). ' +
      '`If-Match` refuses it when the campaign moved on: 412 `PRECONDITION_FAILED`, nothing changed.',
    (slug, actor, expect) => campaigns.unarchive(slug, actor, expect),
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
            events: Type.Record(Type.String(), Type.Integer(), {
              description: `The ${MAX_STATS_EVENTS} most counted event names`,
            }),
            event_names: Type.Integer({ description: 'How many event names were counted in all' }),
            counters: Type.Record(Type.String(), Type.Integer()),
          }),
          ...errors(401, 403, 404),
        },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      const campaign = await campaigns.get(slug)
      const { counters, events, eventNames } = await campaigns.statsCounters(slug, MAX_STATS_EVENTS)
      return {
        campaign: slug,
        status: campaignStatus(campaign),
        events_total: counters.events_total ?? 0,
        sessions: counters.sessions ?? 0,
        events,
        event_names: eventNames,
        counters,
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
