// A campaign as the configuration QA suites read and change it over REST: the editors' view and
// patch (as an admin) and a visitor's view (as a new guest).
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { adminHeaders, guestToken, json, uniqueSlug } from './helper.js'

/** `GET /api/campaign/{slug}` as an admin: the editors' view, `problems` included. */
export const editorView = (app: FastifyInstance, slug: string) =>
  app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders })

/** The campaign as stored (the editors' view, which must be found). */
export async function storedCampaign(app: FastifyInstance, slug: string) {
  const res = await editorView(app, slug)
  assert.equal(res.statusCode, 200, res.body)
  return json(res)
}

/** `PATCH /api/campaign/{slug}` as an admin: as JSON, or as a merge patch (RFC 7396) when `merge`. */
export const patchCampaign = (app: FastifyInstance, slug: string, payload: unknown, merge = false) =>
  app.inject({
    method: 'PATCH',
    url: `/api/campaign/${slug}`,
    headers: {
      ...adminHeaders,
      'content-type': merge ? 'application/merge-patch+json' : 'application/json',
    },
    payload: JSON.stringify(payload),
  })

/** `GET /api/campaign/{slug}` as a visitor: a new guest's view. */
export async function visitorView(app: FastifyInstance, slug: string) {
  const { token } = await guestToken(app)
  return app.inject({
    method: 'GET',
    url: `/api/campaign/${slug}`,
    headers: { authorization: `Bearer ${token}` },
  })
}

/** `POST /api/campaign` as an admin: a new campaign (slug `prefix…`) holding `metadata`. */
export const postCampaign = (app: FastifyInstance, metadata: unknown, prefix = 'c') =>
  app.inject({
    method: 'POST',
    url: '/api/campaign',
    headers: adminHeaders,
    payload: { slug: uniqueSlug(prefix), title: `Campaign ${prefix}`, metadata },
  })

/**
 * Stores a campaign holding `metadata` as one written before today's checks (straight into the
 * table, past the API). Returns its slug.
 */
export async function storeBeforeChecks(app: FastifyInstance, metadata: unknown, prefix = 'legacy') {
  const slug = uniqueSlug(prefix)
  await app.platform.database.db
    .insertInto('service_campaign_main')
    .values({
      slug,
      title: 'Stored before',
      description: '',
      draft: false,
      created_by: 'legacy',
      metadata: JSON.stringify(metadata),
      updated_at: new Date(),
    })
    .execute()
  return slug
}

/** A 400 `VALIDATION_FAILED` naming exactly `paths`; returns its `error`. */
export function assertRefused(res: { statusCode: number; body: string }, paths: string[]) {
  assert.equal(res.statusCode, 400, res.body)
  const { error } = JSON.parse(res.body)
  assert.equal(error.code, 'VALIDATION_FAILED')
  assert.deepEqual(
    error.details.map((d: { path: string }) => d.path),
    paths,
  )
  return error
}
