import { type Static, Type } from 'typebox'
import { PERSON_ROLES } from './user.schema.js'

const RoleSchema = Type.Enum(PERSON_ROLES)

/** What the console's People page filters by: a role, and text in the address or the name. */
export const PeopleQuery = Type.Object({
  role: Type.Optional(RoleSchema),
  q: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Text in the email address or the display name (case-insensitive)',
    }),
  ),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  // A person's id grows with the time they joined, so the list is newest first by id and a page
  // read after the last id seen neither repeats nor skips anyone while people join.
  before: Type.Optional(
    Type.String({
      pattern: '^usr_[0-9A-Z]{26}$',
      description: 'The last person id seen: the people who joined before them',
    }),
  ),
})
export type PeopleQuery = Static<typeof PeopleQuery>

/** One person as an admin sees them to grant a role: no password, consent or metadata. */
export const PersonSummary = Type.Object({
  id: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  display_name: Type.String(),
  role: RoleSchema,
  /** Editor and admin need one (409 `PASSWORD_REQUIRED` otherwise): the console signs in with it. */
  has_password: Type.Boolean(),
  /** When they confirmed the address by a mailed link (a verification or a password reset); null while not. */
  email_verified_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
})
export type PersonSummary = Static<typeof PersonSummary>

export const PeopleList = Type.Object({
  people: Type.Array(PersonSummary),
  /** Whether people are left past this page: page on with `before` set to the last id. */
  has_more: Type.Boolean(),
})
export type PeopleList = Static<typeof PeopleList>
