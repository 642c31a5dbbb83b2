// An address confirmed by mail, in Chromium: a person asks for a link, it arrives at a real SMTP
// receiver, its page (open without signing in, on a phone) confirms the address at once and takes
// the token out of the address bar; the link does not work twice, and the People page shows the
// person as verified.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY } from '../helper.js'
import { personWithRole } from '../people-fixtures.js'
import { mailingBrowserSuite, openPage, PHONE, screenshot } from './harness.js'

describe('admin console, an address confirmed by mail', () => {
  const suite = mailingBrowserSuite()

  test('the mailed link confirms the address once, signed in or not; People shows it', async () => {
    const { app, baseUrl } = suite.server
    const person = await personWithRole(app, 'ovasabi_website', 'participant', { name: 'Verify Person' })
    const asked = await app.inject({
      method: 'POST',
      url: '/api/auth/email/verification',
      headers: { authorization: `Bearer ${person.token}` },
    })
    assert.equal(asked.statusCode, 202, asked.body)
    const mail = await suite.smtp.waitForMessage(person.email)
    const link = /https?:\/\/\S+#token=[A-Za-z0-9_~.%+/=-]+/.exec(mail.text)?.[0]
    assert.ok(link, `a link in the mail: ${mail.text}`)
    assert.ok(link.startsWith(`${baseUrl}/admin/verify-email#token=`), link)

    const phone = await openPage(await suite.newContext(PHONE), link)
    const section = phone.page.locator('section[data-testid="verify-email"]')
    await section.getByRole('heading', { name: 'Confirm your email address' }).waitFor()
    await section.locator('[data-testid="verify-done"]').getByText('Your address is confirmed.').waitFor()
    assert.equal(phone.page.url(), `${baseUrl}/admin/verify-email`, 'the token left the address bar')
    const at = await section.locator('[data-testid="verify-date"]').getAttribute('datetime')
    const me = await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${person.token}` } })
    assert.equal(JSON.parse(me.body).user.email_verified_at, at)
    await screenshot(phone.page, 'admin-verify-email-done-phone')

    // The same link again, in another browser not signed in: it no longer works, and says where to ask.
    const again = await openPage(await suite.newContext(PHONE), link)
    const refused = again.page.locator('[data-testid="verify-invalid"]')
    await refused.waitFor()
    assert.equal(await refused.getAttribute('role'), 'alert')
    await again.page.locator('[data-testid="verify-ask-elsewhere"]').waitFor()
    assert.equal(await again.page.getByRole('button', { name: 'Send a new link' }).count(), 0)
    await screenshot(again.page, 'admin-verify-email-used-phone')

    // The admins' People page marks the person verified, another who has not confirmed unverified.
    const other = await personWithRole(app, 'ovasabi_website', 'participant', { name: 'Unverified Person' })
    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const desk = await openPage(context, `${baseUrl}/admin/people`)
    await desk.page.locator(`tr[data-person-id="${person.id}"] [data-testid="email-verified"]`).waitFor()
    await desk.page.locator(`tr[data-person-id="${other.id}"] [data-testid="email-unverified"]`).waitFor()
  })
})
