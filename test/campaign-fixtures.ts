// A campaign as the configuration QA suites read and change it over REST: the editors' view and
// patch (as an admin) and a visitor's view (as a new guest).
import type { FastifyInstance } from 'fastify'
import { adminHeaders, guestToken } from './helper.js'

/** `GET /api/campaign/{slug}` as an admin: the editors' view, `problems` included. */
export const editorView = (app: FastifyInstance, slug: string) =>
  app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders })

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
