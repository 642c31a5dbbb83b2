import type { FastifyPluginAsync } from 'fastify'
import { absentBodyAsEmpty, errors, SecuredBy } from '../../platform/http/schemas.js'
import type { EmailVerification } from './email-verification.js'
import {
  type RequestVerificationBody,
  RequestVerificationBody as RequestVerificationBodySchema,
  RequestVerificationResponse,
  type VerifyEmailBody,
  VerifyEmailBody as VerifyEmailBodySchema,
  VerifyEmailResponse,
} from './email-verification.schema.js'

export const emailVerificationRoutes: FastifyPluginAsync<{ emailVerification: EmailVerification }> = async (
  app,
  { emailVerification },
) => {
  const tags = ['user']

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
          'or for an address no longer the person’s is 400 `INVALID_VERIFICATION_TOKEN`. Rate-limited: 30 per ' +
          'client network per 15 min (429 `RATE_LIMITED` with Retry-After).',
        body: VerifyEmailBodySchema,
        response: { 200: VerifyEmailResponse, ...errors(400, 429) },
      },
    },
    async (request) => {
      const { token } = request.body as VerifyEmailBody
      const done = await emailVerification.verify(token, { ip: request.ip })
      return { status: 'email_verified' as const, email_verified_at: done.email_verified_at.toISOString() }
    },
  )
}
