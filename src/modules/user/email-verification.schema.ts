import { type Static, Type } from 'typebox'
import { Slug } from '../campaign/campaign.schema.js'

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
