// One guest of one campaign posting actions, for the qa30c suites of the action endpoint.
import { after, before } from 'node:test'
import { buildTestApp, createCampaign, type Dialect, guestToken, type TestContext } from './helper.js'

/**
 * Call inside a `describe`: an app on `dialect`, a campaign with every feature and a guest of
 * it, built before the suite's tests and closed after them.
 */
export function guestSuite(dialect: Dialect) {
  let t: TestContext
  let slug: string
  let session: { token: string; session_id: string }
  before(async () => {
    t = await buildTestApp({ dialect })
    slug = await createCampaign(t.app)
    session = await guestToken(t.app)
  })
  after(() => t.close())
  const auth = () => ({ authorization: `Bearer ${session.token}` })
  return {
    get app() {
      return t.app
    },
    get slug() {
      return slug
    },
    get session() {
      return session
    },
    auth,
    /** `payload` to the campaign's action endpoint as the guest. */
    post: (payload: object, headers: Record<string, string> = {}) =>
      t.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { ...auth(), ...headers },
        payload,
      }),
    /** How many analytics events the campaign holds under `requestId` (0 or 1). */
    recorded: async (requestId: string) =>
      (
        await t.app.platform.database.db
          .selectFrom('service_analytics_event')
          .select('event_id')
          .where('campaign_slug', '=', slug)
          .where('event_id', '=', requestId)
          .execute()
      ).length,
  }
}
