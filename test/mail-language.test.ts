// Mails and notifications in their reader's language: a verification or password reset mail, the
// welcome at a join and a lead's status notification go in the locale the person joined (or sent
// the lead) with, worded by the campaign's catalog (`mail.verify.*`, `notification.*`) where it has
// the key, else translated by LibreTranslate (a local fake speaking its API); in English, whole,
// without a locale, and when translation fails. The link is never translated.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { type FakeLibreTranslate, startFakeLibreTranslate } from './fixtures/libretranslate.js'
import { startSmtpReceiver } from './fixtures/smtp-receiver.js'
import {
  adminHeaders,
  buildTestApp,
  captureFrames,
  createCampaign,
  DIALECTS,
  guestLead,
  guestToken,
  json,
  type TestContext,
} from './helper.js'
import { waitFor } from './wait-for.js'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'

const PUBLIC_URL = 'https://launch.example.org'

/** A passwordless join of a new address to `slug`, in `locale` when given. */
async function join(app: FastifyInstance, slug: string, locale?: string) {
  const { token } = await guestToken(app)
  const email = `ada.${randomBytes(5).toString('hex')}@example.org`
  const res = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: { authorization: `Bearer ${token}` },
    payload: { campaign: slug, name: 'Ada', email, ...(locale ? { locale } : {}) },
  })
  assert.equal(res.statusCode, 201, res.body)
  return { email, token: json(res).token as string }
}

/** Pushes onto `into` the message of each notification `pick` takes, until the returned stop. */
const notifications = (
  app: FastifyInstance,
  pick: (frame: { event?: string; kind?: string }) => boolean,
  into: string[],
) =>
  captureFrames(app, ({ frame }) => {
    const f = frame as { type: string; event?: string; kind?: string; message?: string }
    if (f.type === 'notification' && pick(f)) into.push(f.message!)
  })

/** A new campaign whose catalog words `key` as `words` in `locale` (French unless given). */
async function wordedIn(app: FastifyInstance, key: string, words: string, locale = 'fr'): Promise<string> {
  const slug = await createCampaign(app)
  const put = await app.inject({
    method: 'PUT',
    url: `/api/campaign/${slug}/catalog`,
    headers: adminHeaders,
    payload: { [key]: { [locale]: words } },
  })
  assert.equal(put.statusCode, 200, put.body)
  return slug
}

/** An editor moves the lead to `status`. */
async function moveLead(app: FastifyInstance, slug: string, id: string, status: string) {
  const res = await app.inject({
    method: 'PATCH',
    url: `/api/campaign/${slug}/leads/${id}`,
    headers: adminHeaders,
    payload: { status },
  })
  assert.equal(res.statusCode, 200, res.body)
}

for (const dialect of DIALECTS) {
  describe(`mails in their reader's language (${dialect})`, () => {
    let ctx: TestContext
    let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>
    let upstream: FakeLibreTranslate
    let asking: string
    before(async () => {
      smtp = await startSmtpReceiver()
      upstream = await startFakeLibreTranslate()
      ctx = await buildTestApp({
        dialect,
        env: {
          SMTP_URL: smtp.url,
          PUBLIC_URL,
          LIBRETRANSLATE_URL: upstream.url,
          LIBRETRANSLATE_RETRIES: '0',
          LIBRETRANSLATE_BREAKER_THRESHOLD: '1000',
        },
      })
      asking = await createCampaign(ctx.app, {
        metadata: { features: [...FEATURES], custom_rules: { verify_email_at_join: true } },
      })
    })
    after(async () => {
      await ctx?.close()
      await smtp?.close()
      await upstream?.close()
    })
    const mailTo = (to: string) =>
      waitFor(() => smtp.messages.find((m) => m.to.includes(to)), `a mail to ${to}`)

    it('translates the verification mail at a join into the locale joined with, link intact', async () => {
      const ada = await join(ctx.app, asking, 'de')
      const mail = await mailTo(ada.email)
      assert.equal(mail.subject, '[de] CONFIRM YOUR EMAIL ADDRESS')
      const lines = mail.text.split('\n')
      // The address and the host are arguments: filled in after translation, as written.
      assert.equal(
        lines[0],
        `[de] SOMEONE, HOPEFULLY YOU, SIGNED UP ON launch.example.org WITH ${ada.email}.`,
      )
      assert.equal(lines[2], '[de] CONFIRM IT IS YOUR ADDRESS HERE (THE LINK WORKS ONCE, FOR 24 HOURS):')
      assert.equal(
        lines[3],
        `https://launch.example.org/c/${asking}#verify=${lines[3]!.split('#verify=')[1]}`,
      )
      assert.match(lines[3]!, /#verify=[A-Za-z0-9_-]{43}$/)
      assert.equal(lines[5], '[de] IF IT WAS NOT YOU, IGNORE THIS MAIL.')
    })

    it("words it as the campaign's catalog does where it has the key, translating the rest", async () => {
      const worded = await createCampaign(ctx.app, {
        metadata: { features: [...FEATURES], custom_rules: { verify_email_at_join: true } },
      })
      const put = await ctx.app.inject({
        method: 'PUT',
        url: `/api/campaign/${worded}/catalog`,
        headers: adminHeaders,
        payload: {
          'mail.verify.subject': { fr: 'Confirmez votre adresse pour le lancement' },
          'mail.verify.intro': { fr: 'Bienvenue ! Vous vous êtes inscrit sur {site} avec {email}.' },
        },
      })
      assert.equal(put.statusCode, 200, put.body)
      const ada = await join(ctx.app, worded, 'fr')
      const mail = await mailTo(ada.email)
      assert.equal(mail.subject, 'Confirmez votre adresse pour le lancement')
      const lines = mail.text.split('\n')
      assert.equal(lines[0], `Bienvenue ! Vous vous êtes inscrit sur launch.example.org avec ${ada.email}.`)
      assert.equal(lines[5], '[fr] IF IT WAS NOT YOU, IGNORE THIS MAIL.')
    })

    it('sends it in English, whole, without a locale or when translation fails', async () => {
      const calls = upstream.calls
      const plain = await join(ctx.app, asking)
      const mail = await mailTo(plain.email)
      assert.equal(mail.subject, 'Confirm your email address')
      assert.equal(upstream.calls, calls, 'nothing to translate')

      upstream.down = true
      try {
        const it = await join(ctx.app, asking, 'it')
        const english = await mailTo(it.email)
        assert.equal(english.subject, 'Confirm your email address')
        assert.match(english.text, /^Someone, hopefully you, signed up on launch\.example\.org with /)
        assert.match(english.text, /works once, for 24 hours/)
      } finally {
        upstream.down = false
      }
    })

    it("welcomes a new member's sockets in the locale joined with: the catalog's words, else translated, else English", async () => {
      const welcomes: string[] = []
      const stop = await notifications(ctx.app, (f) => f.event === 'user.welcome', welcomes)
      try {
        const slug = await wordedIn(
          ctx.app,
          'notification.welcome.message',
          'Bienvenue sur {campaign}, {name} !',
        )
        const welcomed = (n: number) => waitFor(() => welcomes.length >= n, `welcome ${n}`)
        await join(ctx.app, slug, 'de')
        await welcomed(1)
        // The title and the name are arguments: filled in as written, after translation.
        assert.equal(welcomes[0], `[de] WELCOME TO Test ${slug}, Ada!`)
        await join(ctx.app, slug, 'fr')
        await welcomed(2)
        assert.equal(welcomes[1], `Bienvenue sur Test ${slug}, Ada !`)
        await join(ctx.app, slug)
        await welcomed(3)
        assert.equal(welcomes[2], `Welcome to Test ${slug}, Ada!`)
        upstream.down = true
        try {
          await join(ctx.app, slug, 'it')
          await welcomed(4)
          assert.equal(welcomes[3], `Welcome to Test ${slug}, Ada!`)
        } finally {
          upstream.down = false
        }
      } finally {
        await stop()
      }
    })

    it("tells a lead's submitter of its status in the locale it was sent with", async () => {
      const told: string[] = []
      const stop = await notifications(ctx.app, (f) => f.kind === 'quote.status', told)
      try {
        const slug = await wordedIn(ctx.app, 'notification.quote.won.message', 'Votre devis est accepté')
        const moved = async (locale: string | undefined, ...statuses: string[]) => {
          const id = await guestLead(ctx.app, slug, locale ? { locale } : {})
          const before = told.length
          for (const status of statuses) await moveLead(ctx.app, slug, id, status)
          // Each status to the lead's guest session (no person behind it): one notification each.
          await waitFor(() => told.length >= before + statuses.length, 'the status notifications')
          return told.slice(before)
        }
        assert.deepEqual(await moved('de', 'contacted'), ['[de] YOUR QUOTE IS BEING PROCESSED'])
        assert.deepEqual(await moved('fr', 'contacted', 'qualified', 'won'), [
          '[fr] YOUR QUOTE IS BEING PROCESSED',
          '[fr] YOUR QUOTE IS BEING PROCESSED',
          'Votre devis est accepté',
        ])
        assert.deepEqual(await moved(undefined, 'contacted'), ['Your quote is being processed'])
      } finally {
        await stop()
      }
    })

    it("answers an editor's change without waiting for the translation, and keeps the notifications in order", async () => {
      const told: string[] = []
      const stop = await notifications(ctx.app, (f) => f.kind === 'quote.status', told)
      const release = upstream.hold()
      try {
        const slug = await wordedIn(ctx.app, 'notification.quote.won.message', 'Presupuesto aceptado', 'es')
        const id = await guestLead(ctx.app, slug, { locale: 'es' })
        const calls = upstream.calls
        // Each change answered while LibreTranslate holds the words of the first two.
        for (const status of ['contacted', 'qualified', 'won']) await moveLead(ctx.app, slug, id, status)
        await waitFor(() => upstream.calls > calls, 'the call to LibreTranslate')
        // The catalog's words for "won" were ready at once: they wait their turn.
        assert.deepEqual(told, [])
        release()
        await waitFor(() => told.length >= 3, 'the status notifications')
        assert.deepEqual(told, [
          '[es] YOUR QUOTE IS BEING PROCESSED',
          '[es] YOUR QUOTE IS BEING PROCESSED',
          'Presupuesto aceptado',
        ])
      } finally {
        release()
        await stop()
      }
    })

    it("translates the password reset mail into the person's locale", async () => {
      const ada = await join(ctx.app, asking, 'es')
      await mailTo(ada.email)
      const before = smtp.messages.length
      const forgot = await ctx.app.inject({
        method: 'POST',
        url: '/api/auth/password/forgot',
        payload: { email: ada.email },
      })
      assert.equal(forgot.statusCode, 202, forgot.body)
      const mail = await waitFor(
        () => smtp.messages.slice(before).find((m) => m.to.includes(ada.email)),
        'the reset mail',
      )
      assert.equal(mail.subject, '[es] CHOOSE A NEW PASSWORD')
      const lines = mail.text.split('\n')
      assert.equal(
        lines[0],
        `[es] SOMEONE, HOPEFULLY YOU, ASKED TO RESET THE PASSWORD OF ${ada.email} ON launch.example.org.`,
      )
      assert.equal(lines[2], '[es] CHOOSE A NEW PASSWORD HERE (THE LINK WORKS ONCE, FOR 30 MINUTES):')
      assert.match(lines[3]!, /^https:\/\/launch\.example\.org\/admin\/reset-password#token=\S+$/)
    })
  })
}
