import type { FastifyPluginAsync } from 'fastify'
import { errors } from '../../platform/http/schemas.js'
import type { PasswordReset } from './password-reset.js'
import {
  ForgotPasswordBody,
  ForgotPasswordResponse,
  ResetPasswordBody,
  ResetPasswordResponse,
} from './password-reset.schema.js'

export const passwordResetRoutes: FastifyPluginAsync<{ passwordReset: PasswordReset }> = async (
  app,
  { passwordReset },
) => {
  const tags = ['user']

  app.post(
    '/api/auth/password/forgot',
    {
      schema: {
        operationId: 'forgotPassword',
        tags,
        description:
          'Ask for a link to choose a new password, mailed to the address if an account has it (one not ' +
          'erased; an account without a password gets one this way). The answer is 202 whether or not one ' +
          'does, and comes before the account is looked up. The link is PASSWORD_RESET_URL (default ' +
          'PUBLIC_URL/admin/reset-password) with the token after `#token=`; it works once, for 30 minutes, ' +
          'and only the latest sent works. Rate-limited (429 `RATE_LIMITED` with Retry-After): 10 per client ' +
          'network (IPv4 address, IPv6 /64) and 3 per address, per hour. Without SMTP_URL, or with nowhere ' +
          'to link to (neither PASSWORD_RESET_URL nor PUBLIC_URL), 503 `MAIL_UNAVAILABLE`.',
        body: ForgotPasswordBody,
        response: { 202: ForgotPasswordResponse, ...errors(400, 429, 503) },
      },
    },
    async (request, reply) => {
      await passwordReset.forgot((request.body as ForgotPasswordBody).email, { ip: request.ip })
      return reply.status(202).send({ status: 'accepted' as const })
    },
  )

  app.post(
    '/api/auth/password/reset',
    {
      schema: {
        operationId: 'resetPassword',
        tags,
        description:
          'Set a new password with the token of a mailed link (see `forgotPassword`). The password follows the ' +
          'join rule (400 `WEAK_PASSWORD`, a detail per problem). Every token and session of the person ends, ' +
          'as with `POST /api/auth/logout/all`: sign in again with the new password. A token unknown, ' +
          'expired, used, replaced by a newer link, or of a person erased is 400 `INVALID_RESET_TOKEN`. ' +
          'Rate-limited: 30 per client network per 15 min (429 `RATE_LIMITED` with Retry-After).',
        body: ResetPasswordBody,
        response: { 200: ResetPasswordResponse, ...errors(400, 429) },
      },
    },
    async (request) => {
      const { token, password } = request.body as ResetPasswordBody
      await passwordReset.reset(token, password, { ip: request.ip })
      return { status: 'password_reset' as const }
    },
  )
}
