import { type Static, Type } from 'typebox'
import { Slug } from '../campaign/campaign.schema.js'
import { JoinEmail, Password } from './user.schema.js'

export const RequestVerificationBody = Type.Object(
  {
    /** A campaign the person joined: the link opens its page, and its catalog words the mail. */
    campaign: Type.Optional(Slug),
  },
  { additionalProperties: false },
)
export type RequestVerificationBody = Static<typeof RequestVerificationBody>

export const RequestVerificationResponse = Type.Object({
  status: Type.Union([Type.Literal('sent'), Type.Literal('already_verified')]),
})

export const VerifyEmailBody = Type.Object(
  {
    /** From the mailed link, after `#token=`. */
    token: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
)
export type VerifyEmailBody = Static<typeof VerifyEmailBody>

export const VerifyEmailResponse = Type.Object({
  status: Type.Literal('email_verified'),
  email_verified_at: Type.String({ format: 'date-time' }),
})

/** `POST /api/auth/email`: a person signed in asks to move their account to another address. */
export const ChangeEmailBody = Type.Object(
  {
    /** The new address: a link confirming it is mailed there. */
    email: JoinEmail,
    /** The password they sign in with: whoever holds their session does not know it. */
    current_password: Password,
  },
  { additionalProperties: false },
)
export type ChangeEmailBody = Static<typeof ChangeEmailBody>

export const ChangeEmailResponse = Type.Object({
  status: Type.Literal('sent'),
  /** The new address as it will be stored (its domain in lower case): where the link went. */
  email: Type.String(),
})
