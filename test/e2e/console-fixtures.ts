// The admin console as the campaign console suites open it: signed in with the admin key, on a
// campaign's settings, once its editor is shown; and the leads its leads table suites seed.
import assert from 'node:assert/strict'
import { ADMIN_KEY, insertLegacyCampaign, json } from '../helper.js'
import { type browserSuite, openPage } from './harness.js'

type Suite = ReturnType<typeof browserSuite>

/** The settings of campaign `slug` in a new browser context of `suite`. */
export async function openSettings(suite: Suite, slug: string) {
  const context = await suite.newContext()
  await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
  const opened = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/settings`)
  await opened.page.locator('[data-testid="campaign-editor"]').waitFor()
  return opened
}

/** A campaign stored as an old version wrote it (`scheduling` unchecked), opened in its settings. */
export async function openLegacySettings(suite: Suite, title: string, scheduling: Record<string, unknown>) {
  const slug = await insertLegacyCampaign(suite.server.app, title, scheduling)
  return { slug, ...(await openSettings(suite, slug)) }
}

/** The `i`th seeded lead's name: `Lead 001`, `Lead 002`, … (sorted as they were sent). */
export const leadName = (i: number) => `Lead ${String(i).padStart(3, '0')}`

/**
 * Leads for the console's leads table, sent to `POST /api/quote` by a guest of `suite`'s server,
 * each from an address of its own in `net` (such as `'198.18'`: the per-address quote limit is not
 * the point). `lead(slug, name)` sends one named `name` (its email made from the name) and returns
 * its id; `seed(slug, count)` sends `Lead 001` to `leadName(count)`, one after another.
 */
export function leadSeeder(suite: Suite, net: string) {
  let address = 0
  async function lead(slug: string, name: string): Promise<string> {
    address++
    const from = { 'x-forwarded-for': `${net}.${Math.floor(address / 250)}.${(address % 250) + 1}` }
    const session = await suite.server.app.inject({ method: 'POST', url: '/api/session', headers: from })
    const res = await suite.server.app.inject({
      method: 'POST',
      url: '/api/quote',
      headers: { authorization: `Bearer ${json(session).token}`, ...from },
      payload: { campaign: slug, name, email: `${name.replace(/\W/g, '').toLowerCase()}@example.org` },
    })
    assert.equal(res.statusCode, 200, res.body)
    return json(res).result?.lead_id ?? json(res).lead_id
  }
  return {
    lead,
    async seed(slug: string, count: number) {
      for (let i = 1; i <= count; i++) await lead(slug, leadName(i))
    },
  }
}
