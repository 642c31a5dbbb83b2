// The admin console as the campaign console suites open it: signed in with the admin key, on a
// campaign's settings, once its editor is shown.
import { ADMIN_KEY, insertLegacyCampaign } from '../helper.js'
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
