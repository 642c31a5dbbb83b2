import { type Static, Type } from 'typebox'
import { NO_MARK_PILE, SHOWS_SOMETHING } from '../../platform/text.js'
import { Slug } from '../campaign/campaign.schema.js'

/**
 * Surrounding spaces are allowed (people paste them); they are trimmed before anything else.
 * Control and invisible characters are in no one's address: they would only make a second
 * account that looks like the first. Invisible is Unicode's default-ignorable set (`\p{DI}`):
 * format characters (a zero-width space, a bidi override) and the marks and letters that draw
 * nothing (variation selectors, the combining grapheme joiner, Hangul fillers).
 */
const Email = Type.String({
  pattern:
    '^\\s*[^\\s@\\p{Cc}\\p{Cf}\\p{DI}]+@[^\\s@.\\p{Cc}\\p{Cf}\\p{DI}]+(\\.[^\\s@.\\p{Cc}\\p{Cf}\\p{DI}]+)+\\s*$',
  minLength: 3,
  maxLength: 254,
  description: 'An email address; trimmed, lower-cased and put in Unicode NFC',
  errorMessage:
    'must be an email address (name@example.com), without spaces, control or invisible characters',
})
/**
 * The address a person joins with names a domain, not a host: no IP literal (`ada@[10.0.0.1]`, and
 * `ada@127.0.0.1`, since no top-level domain is all digits), as for a lead's email. Their welcome
 * and milestone mail, and the CRMs their referrals reach, would go to a host, often an internal
 * one. A login keeps `Email`: an account made before this rule still signs in.
 */
export const JoinEmail = Type.String({
  ...Email,
  pattern:
    '^\\s*[^\\s@\\p{Cc}\\p{Cf}\\p{DI}]+@(?:[^\\s@.\\[\\]\\p{Cc}\\p{Cf}\\p{DI}]+\\.)+(?![0-9]+\\s*$)[^\\s@.\\[\\]\\p{Cc}\\p{Cf}\\p{DI}]+\\s*$',
  errorMessage:
    'must be an email address with a domain name (name@example.com), not an IP address, without spaces, control or invisible characters',
})
export const Password = Type.String({ minLength: 1, maxLength: 256 })

/**
 * A display name, shown to every visitor of a campaign (leaderboard, milestone messages): one
 * line that reads as typed. Control characters (an ESC recolours a terminal or log viewer, a line
 * break forges a second line) and bidirectional overrides and isolates (which reverse the text
 * around them, so "Ada" can pose as someone else's entry) are refused; something visible is
 * required: not only what draws nothing (spaces, format characters, combining marks with nothing
 * to sit on, the Hangul fillers, the blank Braille pattern: `DRAWS_NOTHING` in `platform/text.ts`),
 * which would put a blank entry on the leaderboard. Nor more than a few combining marks on one character ("Zalgo" text,
 * see `platform/text.ts`), which would spill over the entries above and below it.
 */
const DisplayName = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: `^${NO_MARK_PILE}${SHOWS_SOMETHING}[^\\p{Cc}\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069]+$`,
  description:
    'One line, without control characters, bidirectional overrides or more than 4 combining marks on a character',
  errorMessage:
    'must show something, on one line, without control characters, bidirectional overrides or more than 4 combining marks on a character',
})

const LanguageTag = Type.String({
  pattern: '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$',
  description: 'A language tag (`pt-BR`, `pt_br`); stored and answered in BCP 47 case (`pt-BR`)',
  errorMessage: 'must be a language tag such as en, pt-BR or zh_Hant_TW',
})

/**
 * Which text a person agreed to (`site-2025-01`): the record must name it, so something visible
 * is required, and control and invisible characters (a line break forging a second line in an
 * export, a zero-width space making `v1` differ from `v1`) are refused. Surrounding spaces are
 * trimmed before it is stored.
 */
const ConsentVersion = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: `^${SHOWS_SOMETHING}[^\\p{Cc}\\p{Cf}\\p{DI}\\u2028\\u2029]+$`,
  description: 'The version of the consent text shown; trimmed, without control or invisible characters',
  errorMessage: 'must show something, without control or invisible characters',
})

/**
 * At most this many bytes of a person's `metadata` as JSON (as for a lead's): it is kept with
 * them for as long as they are, and the body limit alone would let each join store a megabyte.
 */
export const USER_METADATA_MAX_BYTES = 16 * 1024

/** `user.register` payload; the REST body adds `campaign`. */
export const RegisterPayload = Type.Object(
  {
    email: JoinEmail,
    name: DisplayName,
    password: Type.Optional(Password),
    locale: Type.Optional(LanguageTag),
    consent: Type.Optional(Type.Object({ text_version: ConsentVersion }, { additionalProperties: false })),
    referral_code: Type.Optional(Type.String({ minLength: 4, maxLength: 32 })),
    metadata: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 50 }),
    ),
  },
  { additionalProperties: false },
)
export type RegisterPayload = Static<typeof RegisterPayload>

export const RegisterBody = Type.Object(
  { campaign: Slug, ...RegisterPayload.properties },
  { additionalProperties: false },
)

/**
 * `PATCH /api/auth/me`: what a person may change of their own profile. Their address is not among
 * it (a join or a login names it; erasure must find everything sent under it).
 */
export const UpdateMeBody = Type.Object(
  {
    display_name: Type.Optional(DisplayName),
    locale: Type.Optional(
      Type.Union([LanguageTag, Type.Null()], {
        description: 'The language their mails and notifications are in; null: English',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateMeBody = Static<typeof UpdateMeBody>

export const LoginBody = Type.Object(
  { email: Email, password: Password, campaign: Type.Optional(Slug) },
  { additionalProperties: false },
)
export type LoginBody = Static<typeof LoginBody>

/** Only the caller's own data: never another person's. */
export const UserView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  display_name: Type.String(),
  locale: Type.Union([Type.String(), Type.Null()]),
  campaign: Type.Union([Type.String(), Type.Null()]),
  referral_code: Type.Union([Type.String(), Type.Null()]),
  joined_at: Type.Union([Type.String(), Type.Null()]),
})
export type UserView = Static<typeof UserView>

export const ReferralOutcome = Type.Object({
  status: Type.Union([
    Type.Literal('pending'),
    Type.Literal('qualified'),
    Type.Literal('rejected'),
    Type.Literal('refused'),
  ]),
  code: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
})
export type ReferralOutcome = Static<typeof ReferralOutcome>

export const AuthResponse = Type.Object({
  user: UserView,
  token: Type.String(),
  session_id: Type.String(),
  expires_at: Type.String(),
  /** False when this join repeated an earlier one (same person, same code). */
  created: Type.Optional(Type.Boolean()),
  referral: Type.Optional(ReferralOutcome),
  /**
   * `mailed`: a link confirming the address is on its way (the campaign's
   * `custom_rules.verify_email_at_join`, the address not confirmed yet). Absent otherwise.
   */
  email_verification: Type.Optional(Type.Literal('mailed')),
})
export type AuthResponse = Static<typeof AuthResponse>

export const EraseResponse = Type.Object({
  id: Type.String(),
  status: Type.Literal('erased'),
  erased_at: Type.String(),
})

export const LogoutResponse = Type.Object({
  status: Type.Literal('logged_out'),
  /** True for `/api/auth/logout/all`: the person's other sessions ended too. */
  all: Type.Boolean(),
  /** With `all`: user tokens of the person issued before this are refused. */
  tokens_valid_after: Type.Optional(Type.String({ format: 'date-time' })),
})
export type LogoutResponse = Static<typeof LogoutResponse>

/** A campaign the person joined (their referral code in it is theirs to see). */
export const MeMembership = Type.Object({
  campaign: Type.String(),
  referral_code: Type.String(),
  joined_at: Type.String({ format: 'date-time' }),
})

/**
 * `GET /api/auth/me`: the caller as the server sees them. Only the caller's own data: the person's
 * profile (email included) goes only to a token of that person.
 */
export const MeResponse = Type.Object({
  kind: Type.Union([Type.Literal('session'), Type.Literal('user'), Type.Literal('apikey')], {
    description: '`session`: a guest session token; `user`: a person’s token; `apikey`: an API key',
  }),
  user_id: Type.String({
    description: 'The person’s id, `guest` for a guest session, `apikey:<id>` for an API key',
  }),
  session_id: Type.String({ description: 'The session the token belongs to (`apikey:<id>` for a key)' }),
  roles: Type.Array(
    Type.Union([
      Type.Literal('admin'),
      Type.Literal('editor'),
      Type.Literal('participant'),
      Type.Literal('guest'),
    ]),
    {
      description:
        'The roles the server honours for this credential. Roles are not per campaign: they hold in every ' +
        'campaign (a person is a participant in each campaign of `user.campaigns`).',
    },
  ),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When the token expires; null for an API key',
  }),
  user: Type.Union(
    [
      Type.Object({
        id: Type.String(),
        email: Type.String(),
        email_verified_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
          description: 'When the person confirmed the address by a mailed link; null while they have not',
        }),
        display_name: Type.String(),
        locale: Type.Union([Type.String(), Type.Null()]),
        campaigns: Type.Array(MeMembership),
      }),
      Type.Null(),
    ],
    { description: 'The person’s own profile (a `user` token); null for a guest session or an API key' },
  ),
})
export type MeResponse = Static<typeof MeResponse>

/** What a person may do beyond taking part: their tokens carry it (issue 7). Weakest first. */
export const PERSON_ROLES = ['participant', 'editor', 'admin'] as const
export type PersonRole = (typeof PERSON_ROLES)[number]

export const SetRoleBody = Type.Object(
  {
    role: Type.Union(
      PERSON_ROLES.map((r) => Type.Literal(r)),
      { description: '`editor` and `admin` may use the console; `participant` only takes part' },
    ),
  },
  { additionalProperties: false },
)
export type SetRoleBody = Static<typeof SetRoleBody>

export const SetRoleResponse = Type.Object({
  id: Type.String(),
  role: Type.Union(PERSON_ROLES.map((r) => Type.Literal(r))),
  previous_role: Type.Union(PERSON_ROLES.map((r) => Type.Literal(r))),
  /** Set when the role was lowered: every token of the person issued before it is refused. */
  tokens_valid_after: Type.Optional(Type.String({ format: 'date-time' })),
})
export type SetRoleResponse = Static<typeof SetRoleResponse>

/** `GET /api/auth/sessions`: where the caller is signed in, most recently active first. */
export const SignInList = Type.Object({
  sessions: Type.Array(
    Type.Object({
      session_id: Type.String(),
      /** The session of the token that asked. */
      current: Type.Boolean(),
      /** The browser's User-Agent as it last sent it (cut to 300 characters); null when it sent none. */
      user_agent: Type.Union([Type.String(), Type.Null()]),
      /** The client network it last came from: an IPv4 address, or an IPv6 /64. */
      network: Type.Union([Type.String(), Type.Null()]),
      /** When the session was authenticated (a join or login; a refresh keeps it). */
      signed_in_at: Type.String({ format: 'date-time' }),
      /** When it was last given a token (a refresh renews it). */
      last_active_at: Type.String({ format: 'date-time' }),
    }),
  ),
})
export type SignInList = Static<typeof SignInList>

export const EndSignInResponse = Type.Object({
  status: Type.Literal('ended'),
  session_id: Type.String(),
  /** It was the caller's own: their token is refused from now on too. */
  current: Type.Boolean(),
})
