// A confirmation link mailed at a join, in Chromium: a campaign with `verify_email_at_join` mails
// whoever joins a link back to its own page (`/c/{slug}#verify=…`), not the admin console; opened
// in another browser (a phone's mail app), the page confirms the address at once, says so, and
// takes the token out of the address bar. Opened again, it says the link no longer works. Joined
// on the page, the welcome says where the link went and sends it again on request, after a reload
// too, until the page learns the address is confirmed (asking the server as it opens, or
// confirming it itself).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { FEATURES } from '../../src/modules/campaign/campaign.schema.js'
import { createCampaign, guestToken, json } from '../helper.js'
import { waitFor } from '../wait-for.js'
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

  test('joined on the page: where the link went, and the link sent again on request', async () => {
    const { app, baseUrl } = suite.server
    const slug = await createCampaign(app, {
      metadata: { features: [...FEATURES], custom_rules: { verify_email_at_join: true } },
    })
    const email = `grace.${randomBytes(5).toString('hex')}@example.org`
    const links = async (n: number) => {
      const mails = await waitFor(() => {
        const to = suite.smtp.messages.filter((m) => m.to.includes(email))
        return to.length >= n && to
      }, `${n} mails to ${email}`)
      return mails.map((m) => /https?:\/\/\S+#verify=[A-Za-z0-9_-]+/.exec(m.text)?.[0])
    }

    const browser = await suite.newContext(PHONE)
    const { page, problems } = await openPage(browser, `${baseUrl}/c/${slug}`)
    await page.locator('form[data-testid="join-form"]').waitFor()
    await page.locator('#join-name').fill('Grace')
    await page.locator('#join-email').fill(email)
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    const mailed = `We sent a link to ${email}`
    await page.locator('[data-testid="confirm-address"] p[role="status"]', { hasText: mailed }).waitFor()
    const [first] = await links(1)
    await screenshot(page, 'site-verify-email-mailed-phone')

    // A reload still says where the link went, and offers it again.
    await page.reload()
    const confirm = page.locator('[data-testid="confirm-address"]')
    await confirm.locator('p[role="status"]', { hasText: mailed }).waitFor()

    await confirm.getByRole('button', { name: 'Send the link again' }).click()
    await page.locator('[data-testid="confirm-address"][data-state="sent"]').waitFor()
    assert.match((await confirm.locator('p').textContent()) ?? '', /A new link is on its way/)
    const [, second] = await links(2)
    assert.ok(second?.startsWith(`${baseUrl}/c/${slug}#verify=`), second)
    assert.notEqual(first, second)

    // The new link confirms the address in another browser (the first link no longer would). This
    // browser's page, opened again, asks the server and no longer offers the link.
    const phone = await openPage(await suite.newContext(PHONE), second!)
    await phone.page.locator('[data-testid="verify-notice"][data-state="confirmed"]').waitFor()
    const later = await openPage(browser, `${baseUrl}/c/${slug}`)
    await later.page.locator('[data-testid="referral-card"]').waitFor()
    await waitFor(
      async () => (await later.page.locator('[data-testid="confirm-address"]').count()) === 0,
      'the notice gone',
    )
    // The page left open, asked again, says it is done.
    await confirm.getByRole('button', { name: 'Send the link again' }).click()
    await page.locator('[data-testid="confirm-address"][data-state="already_verified"]').waitFor()
    assert.equal(await confirm.getByRole('button').count(), 0)
    assert.equal(suite.smtp.messages.filter((m) => m.to.includes(email)).length, 2)
    assert.deepEqual(problems, [])
    assert.deepEqual(phone.problems, [])
    assert.deepEqual(later.problems, [])
  })

  test('the link opened in the browser that joined: confirmed, and the link no longer offered', async () => {
    const { app, baseUrl } = suite.server
    const slug = await createCampaign(app, {
      metadata: { features: [...FEATURES], custom_rules: { verify_email_at_join: true } },
    })
    const email = `mary.${randomBytes(5).toString('hex')}@example.org`
    const browser = await suite.newContext()
    const { page, problems } = await openPage(browser, `${baseUrl}/c/${slug}`)
    await page.locator('#join-name').fill('Mary')
    await page.locator('#join-email').fill(email)
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    await page.locator('[data-testid="confirm-address"]').waitFor()
    const mail = await suite.smtp.waitForMessage(email)
    const link = /https?:\/\/\S+#verify=[A-Za-z0-9_-]+/.exec(mail.text)?.[0]
    assert.ok(link, mail.text)

    const opened = await openPage(browser, link)
    await opened.page.locator('[data-testid="verify-notice"][data-state="confirmed"]').waitFor()
    await opened.page.locator('[data-testid="referral-card"]').waitFor()
    await waitFor(
      async () => (await opened.page.locator('[data-testid="confirm-address"]').count()) === 0,
      'the notice gone',
    )
    // And it stays gone.
    await opened.page.reload()
    await opened.page.locator('[data-testid="referral-card"]').waitFor()
    assert.equal(await opened.page.locator('[data-testid="confirm-address"]').count(), 0)
    assert.deepEqual(problems, [])
    assert.deepEqual(opened.problems, [])
  })

  test('a campaign that does not ask for it mails nothing and shows no such notice', async () => {
    const { app, baseUrl } = suite.server
    const slug = await createCampaign(app)
    const { page, problems } = await openPage(await suite.newContext(), `${baseUrl}/c/${slug}`)
    await page.locator('#join-name').fill('Bea')
    await page.locator('#join-email').fill(`bea.${randomBytes(5).toString('hex')}@example.org`)
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    await page.locator('[data-testid="referral-card"]').waitFor()
    assert.equal(await page.locator('[data-testid="confirm-address"]').count(), 0)
    assert.deepEqual(problems, [])
  })
})
