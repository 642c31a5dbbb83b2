import type { FastifyPluginAsync } from 'fastify'
import { absentBodyAsEmpty, errors, SecuredBy } from '../../platform/http/schemas.js'
import type { EmailChange } from './email-change.js'
import type { EmailVerification } from './email-verification.js'
import {
  ChangeEmailBody,
  ChangeEmailResponse,
  type RequestVerificationBody,
  RequestVerificationBody as RequestVerificationBodySchema,
  RequestVerificationResponse,
  type VerifyEmailBody,
  VerifyEmailBody as VerifyEmailBodySchema,
  VerifyEmailResponse,
} from './email-verification.schema.js'

export const emailVerificationRoutes: FastifyPluginAsync<{
  emailVerification: EmailVerification
  emailChange: EmailChange
}> = async (app, { emailVerification, emailChange }) => {
  const tags = ['user']

  app.post(
    '/api/auth/email',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'changeEmail',
        tags,
        security: SecuredBy,
        description:
          'A person signed in asks to move their account to another address: `email` and their ' +
          '`current_password` (whoever holds their session does not know it; a wrong one is 403 ' +
          '`WRONG_PASSWORD`, counted against the login rate limit as a login’s guess). 202 `sent`: a link ' +
          'confirming the new address is mailed to it (EMAIL_VERIFY_URL, default PUBLIC_URL/admin/verify-email, ' +
          'with the token after `#token=`; it works once, for 24 hours, only the latest), and `POST ' +
          '/api/auth/email/verify` with its token makes it the account’s: verified, the old address kept among ' +
          'the former ones (an erasure finds what was stored under it), the reset and confirmation links mailed ' +
          'to the old one void, and the old one told. Until then nothing changes. Sessions go on. The ' +
          'account’s address already: 400 `EMAIL_UNCHANGED`; another account’s: 409 `EMAIL_TAKEN`; an ' +
          'account without a password: 409 `PASSWORD_NOT_SET`; a guest session or an API key: 403 ' +
          '`PERSON_REQUIRED`; 3 asks a person an hour past the password check (429 `RATE_LIMITED`); without mail 503 `MAIL_UNAVAILABLE`.',
        body: ChangeEmailBody,
        response: { 202: ChangeEmailResponse, ...errors(400, 401, 403, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const email = await emailChange.request(request.principal!, request.body as ChangeEmailBody, {
        ip: request.ip,
      })
      return reply.status(202).send({ status: 'sent' as const, email })
    },
  )

  app.post(
    '/api/auth/email/verification',
    {
      onRequest: app.authenticate,
      preValidation: absentBodyAsEmpty,
      schema: {
        operationId: 'requestEmailVerification',
        tags,
        security: SecuredBy,
        description:
          "Mail the caller (a person's token) a link confirming their address: 202 `sent`, the mail going out " +
          'after the answer; 200 `already_verified` when it is. The link is EMAIL_VERIFY_URL (default ' +
          'PUBLIC_URL/admin/verify-email) with the token after `#token=`; it works once, for 24 hours, and only ' +
          'the latest sent works. 3 mails per person an hour, those sent at a join included (429 ' +
          '`RATE_LIMITED` with Retry-After). A guest session or an API key: 403 `PERSON_REQUIRED`. Without ' +
          'SMTP_URL, or with nowhere to link to, 503 `MAIL_UNAVAILABLE`. A campaign with ' +
          '`custom_rules.verify_email_at_join` mails the link to whoever joins it unverified (the join answers ' +
          '`email_verification: mailed`). With `{campaign}`, one the person joined, the link opens that ' +
          "campaign's page (PUBLIC_URL/c/{slug}#verify=…, unless EMAIL_VERIFY_URL is set) and the campaign's " +
          'catalog words the mail, as at the join: a page\'s "send it again". A campaign they did not join: ' +
          "404 `NOT_A_MEMBER`. No body asks for the console's page.",
        body: RequestVerificationBodySchema,
        response: {
          200: RequestVerificationResponse,
          202: RequestVerificationResponse,
          ...errors(400, 401, 403, 404, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const { campaign } = request.body as RequestVerificationBody
      const status = await emailVerification.request(request.principal!, { campaign })
      return reply.status(status === 'sent' ? 202 : 200).send({ status })
    },
  )

  app.post(
    '/api/auth/email/verify',
    {
      schema: {
        operationId: 'verifyEmail',
        tags,
        description:
          'Confirm an address with the token of a mailed link (see `requestEmailVerification`, or a password ' +
          "reset's, which confirms it too); no credential needed. The person's `email_verified_at` is set, and " +
          'every campaign they joined logs `email_verified` (a referral rule may qualify on it: ' +
          '`referral_qualifies_on: email_verified`). A token unknown, expired, used, replaced by a newer link, ' +
          'or for an address no longer the person’s is 400 `INVALID_VERIFICATION_TOKEN`. The link of an address ' +
          'change (`POST /api/auth/email`) comes here too: its address becomes the person’s, confirmed (409 ' +
          '`EMAIL_TAKEN` when another account has it by now). Rate-limited: 30 per client network per 15 min ' +
          '(429 `RATE_LIMITED` with Retry-After).',
        body: VerifyEmailBodySchema,
        response: { 200: VerifyEmailResponse, ...errors(400, 409, 429) },
      },
    },
    async (request) => {
      const { token } = request.body as VerifyEmailBody
      const done = await emailVerification.verify(token, { ip: request.ip })
      return { status: 'email_verified' as const, email_verified_at: done.email_verified_at.toISOString() }
    },
  )
}
