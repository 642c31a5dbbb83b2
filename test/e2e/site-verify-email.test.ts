// A confirmation link mailed at a join, in Chromium: a campaign with `verify_email_at_join` mails
// whoever joins a link back to its own page (`/c/{slug}#verify=…`), not the admin console; opened
// in another browser (a phone's mail app), the page confirms the address at once, says so, and
// takes the token out of the address bar. Opened again, it says the link no longer works.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { FEATURES } from '../../src/modules/campaign/campaign.schema.js'
import { createCampaign, guestToken, json } from '../helper.js'
import { mailingBrowserSuite, openPage, PHONE, screenshot } from './harness.js'

describe('campaign page, an address confirmed by the link mailed at a join', () => {
  const suite = mailingBrowserSuite()

  test('the link opens the campaign page, which confirms the address once', async () => {
    const { app, baseUrl } = suite.server
    const slug = await createCampaign(app, {
      metadata: { features: [...FEATURES], custom_rules: { verify_email_at_join: true } },
    })
    const email = `ada.${randomBytes(5).toString('hex')}@example.org`
    const { token: guest } = await guestToken(app)
    const joined = await app.inject({
      method: 'POST',
      url: '/api/user/register',
      headers: { authorization: `Bearer ${guest}` },
      payload: { campaign: slug, name: 'Ada', email },
    })
    assert.equal(joined.statusCode, 201, joined.body)
    const person = json(joined).token as string

    const mail = await suite.smtp.waitForMessage(email)
    const link = /https?:\/\/\S+#verify=[A-Za-z0-9_-]+/.exec(mail.text)?.[0]
    assert.ok(link, `a link in the mail: ${mail.text}`)
    assert.ok(link.startsWith(`${baseUrl}/c/${slug}#verify=`), link)

    const phone = await openPage(await suite.newContext(PHONE), link)
    const notice = phone.page.locator('[data-testid="verify-notice"][data-state="confirmed"]')
    await notice.getByText('Your email address is confirmed. Thank you!').waitFor()
    assert.equal(await notice.locator('p').getAttribute('role'), 'status')
    assert.equal(phone.page.url(), `${baseUrl}/c/${slug}`, 'the token left the address bar')
    // The campaign page itself is there around it.
    await phone.page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
    const me = await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${person}` } })
    assert.notEqual(json(me).user.email_verified_at, null)
    await screenshot(phone.page, 'site-verify-email-confirmed-phone')
    assert.deepEqual(phone.problems, [])

    // The same link again: it no longer works, and the page says so as an alert.
    const again = await openPage(await suite.newContext(PHONE), link)
    const refused = again.page.locator('[data-testid="verify-notice"][data-state="invalid"] p')
    await refused.waitFor()
    assert.equal(await refused.getAttribute('role'), 'alert')
    assert.match((await refused.textContent()) ?? '', /no longer works/)
    assert.equal(again.page.url(), `${baseUrl}/c/${slug}`)

    // The page without a link shows no such notice.
    const plain = await openPage(await suite.newContext(), `${baseUrl}/c/${slug}`)
    await plain.page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
    assert.equal(await plain.page.locator('[data-testid="verify-notice"]').count(), 0)
  })
})
