import { type Static, Type } from 'typebox'
import { JoinEmail, Password } from './user.schema.js'

export const ForgotPasswordBody = Type.Object({ email: JoinEmail }, { additionalProperties: false })
export type ForgotPasswordBody = Static<typeof ForgotPasswordBody>

export const ForgotPasswordResponse = Type.Object({ status: Type.Literal('accepted') })

export const ResetPasswordBody = Type.Object(
  {
    /** From the mailed link, after `#token=`. */
    token: Type.String({ minLength: 1, maxLength: 200 }),
    password: Password,
  },
  { additionalProperties: false },
)
export type ResetPasswordBody = Static<typeof ResetPasswordBody>

export const ResetPasswordResponse = Type.Object({ status: Type.Literal('password_reset') })

/** `POST /api/auth/password`: a person signed in changes their password. */
export const ChangePasswordBody = Type.Object(
  {
    /** The password they sign in with now: whoever holds their session does not know it. */
    current_password: Password,
    /** The new one, under the join's strength rule. */
    password: Password,
  },
  { additionalProperties: false },
)
export type ChangePasswordBody = Static<typeof ChangePasswordBody>
