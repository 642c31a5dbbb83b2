import { type Static, Type } from 'typebox'

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
