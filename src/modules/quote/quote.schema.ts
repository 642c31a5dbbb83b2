import { Type, type Static } from 'typebox'
import type { LeadStatus } from '../../platform/db/tables.js'
import { SHOWS_SOMETHING } from '../../platform/text.js'

export const LEAD_STATUSES = ['new', 'contacted', 'qualified', 'won', 'lost'] as const satisfies LeadStatus[]

/**
 * A lead status: one `enum`, so a wrong value is one validation error (a union of literals gave
 * one error per literal and an `anyOf` one). `Unsafe` keeps the static type the union.
 */
export const LeadStatusSchema = Type.Unsafe<LeadStatus>({ type: 'string', enum: [...LEAD_STATUSES] })

/** `new → contacted → qualified → won | lost`; a lead can be lost at any open stage. */
export const TRANSITIONS: Record<LeadStatus, LeadStatus[]> = {
  new: ['contacted', 'lost'],
  contacted: ['qualified', 'lost'],
  qualified: ['won', 'lost'],
  won: [],
  lost: [],
}

/** At most this many metadata keys, on one submission and on a lead its resubmissions merge into. */
export const METADATA_MAX_KEYS = 50
/** The longest language tag the form takes (RFC 5646's minimum buffer, 4.4.1). */
export const LOCALE_MAX_LENGTH = 35
/**
 * At most this many bytes of metadata as JSON, likewise: a lead travels whole in every webhook,
 * list page and export, so a form field must not make it megabytes (the body limit alone would).
 */
export const METADATA_MAX_BYTES = 16 * 1024

/**
 * Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069): they reverse the text
 * around them, so a name or a company reads in an export, a CRM or the console as something else
 * (`Ada\u202Emoc.live` shows as "Adaevil.com"), as display names refuse them.
 */
const BIDI = '\\u202A-\\u202E\\u2066-\\u2069'
/**
 * One line of text without control characters: an ESC or a backspace in a name is no name, and
 * such characters reach CSV exports, CRMs and terminals, where they can rewrite what is shown.
 * The line and paragraph separators (U+2028, U+2029) are line breaks, and bidi controls (`BIDI`)
 * rewrite what is shown too.
 */
const LINE = `^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029${BIDI}]*$`
/** Free text: the same, but tabs and line breaks (U+2028, U+2029 too) are the message's own. */
const TEXT = `^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F${BIDI}]*$`

/** The lead form. `website` is a honeypot: people never see it, form-filling bots do. */
export const QuoteFields = Type.Object(
  {
    // Something visible: a name of only zero-width or filler characters (`\u200B`) names no one.
    name: Type.String({ minLength: 1, maxLength: 200, pattern: `^${SHOWS_SOMETHING}${LINE.slice(1)}` }),
    // A dotted domain, as registration asks: `ada@localhost` reaches no one a campaign could answer.
    // A name, not an address: `a@[127.0.0.1]` and `a@127.0.0.1` (no top-level domain is all
    // digits) would have the CRM mail a host, often an internal one, rather than a person.
    email: Type.String({
      format: 'email',
      maxLength: 254,
      pattern: '^[^\\s@]+@[^\\s@.\\[\\]]+(\\.[^\\s@.\\[\\]]+)*\\.(?![0-9]+$)[^\\s@.\\[\\]]+$',
    }),
    company: Type.Optional(Type.String({ maxLength: 200, pattern: LINE })),
    // Digits, five at least before any extension: `-----` or `(((((` is punctuation, not a number
    // anyone can call. A slash (`0221/1234567`) and an extension (`ext. 23`, `x23`, `#23`) are
    // how people write numbers too (fullwidth and dash forms are folded first: `plainPhone`).
    phone: Type.Optional(
      Type.String({
        pattern:
          '^(?=(?:[^0-9A-Za-z#]*[0-9]){5})\\+?[0-9 ()./-]{5,32}(?: ?(?:[Ee][Xx][Tt]\\.?|[Xx]|#) ?[0-9]{1,6})?$',
      }),
    ),
    message: Type.Optional(Type.String({ maxLength: 5000, pattern: TEXT })),
    budget: Type.Optional(
      Type.Union([Type.String({ maxLength: 100, pattern: LINE }), Type.Number({ minimum: 0 })]),
    ),
    interest: Type.Optional(Type.String({ maxLength: 200, pattern: LINE })),
    // At most 35 characters, what RFC 5646 (4.4.1) asks every implementation to take: a tag of
    // any length stored whole would travel in every webhook, list page and export.
    locale: Type.Optional(
      Type.String({ maxLength: LOCALE_MAX_LENGTH, pattern: '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$' }),
    ),
    consent: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        maxProperties: METADATA_MAX_KEYS,
        description: `At most ${METADATA_MAX_KEYS} keys and ${METADATA_MAX_BYTES / 1024} KiB as JSON`,
      }),
    ),
    website: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
)
export type QuoteFields = Static<typeof QuoteFields>

/** The lead form's action and its alias: the names its submissions are logged under. */
export const SUBMIT_EVENTS = ['quote.submit', 'submit_quote'] as const

/**
 * The lead fields that identify or describe a person. The analytics log keeps a submission's
 * other fields (budget, interest, locale, consent, metadata) but not these: the lead row is their
 * one home, where erasure finds them (migration 011 scrubbed the events written before).
 */
export const PERSONAL_FIELDS = ['name', 'email', 'phone', 'company', 'message']

/** Per-field wording for the errors a person filling the form can act on. */
export const FIELD_HINTS: Record<string, string> = {
  name: 'name must be one line of 1 to 200 characters, without control characters',
  email:
    'email must be a valid email address with a domain such as example.com, not an IP address (at most 254 characters)',
  company: 'company must be one line of at most 200 characters, without control characters',
  phone:
    'phone must be 5 to 32 digits, spaces, +, (, ), ., / or -, with at least 5 digits, and may end with an extension (ext. 23)',
  message: 'message must be text of at most 5000 characters, without control characters',
  budget: 'budget must be a non-negative number or one line of at most 100 characters',
  interest: 'interest must be one line of at most 200 characters, without control characters',
  locale: `locale must be a language tag such as en or pt-BR (at most ${LOCALE_MAX_LENGTH} characters)`,
  consent: 'consent must be true or false',
  metadata: `metadata must be an object with at most ${METADATA_MAX_KEYS} keys and ${METADATA_MAX_BYTES / 1024} KiB of JSON`,
  website: 'website must be text',
}

/**
 * A name of only what draws nothing (zero-width or filler characters, spaces): it is one line of
 * the right length, so the field's hint would not say what is wrong with it.
 */
export const NAME_NOT_VISIBLE_HINT = 'name must contain a visible character'

/**
 * An address still outside ASCII once its domain is mapped (`ＡＤＡ@example.com`, `josé@…`): the
 * lead form takes only ASCII before the @, so say that rather than "not an email address".
 */
export const EMAIL_NOT_ASCII_HINT =
  'email must be written in plain (ASCII) letters before the @; a domain such as exämple.com may be internationalised'

export const SubmitQuoteBody = Type.Object(
  { campaign: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }), ...QuoteFields.properties },
  { additionalProperties: false },
)

export const SubmitResult = Type.Object({
  status: Type.Literal('success'),
  result: Type.Object({
    lead_id: Type.String(),
    status: Type.String(),
    /** True when this email's lead from the last 24 h was updated instead of a new one created. */
    updated: Type.Boolean(),
  }),
  message: Type.Optional(Type.String()),
  request_id: Type.String(),
})

/** A lead id as `POST /api/quote` answers it (`lead_` and a ULID). */
export const LeadIdParams = Type.Object({ id: Type.String({ pattern: '^lead_[0-9A-Z]{26}$' }) })

/** What a lead's submitter reads back: where it stands, none of the fields it was sent with. */
export const OwnLeadView = Type.Object({
  lead_id: Type.String(),
  campaign: Type.String(),
  status: LeadStatusSchema,
  updated_at: Type.String({ format: 'date-time' }),
})
export type OwnLeadView = Static<typeof OwnLeadView>

export const LeadView = Type.Object({
  id: Type.String(),
  campaign: Type.String(),
  status: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  email: Type.Union([Type.String(), Type.Null()]),
  company: Type.Union([Type.String(), Type.Null()]),
  phone: Type.Union([Type.String(), Type.Null()]),
  message: Type.Union([Type.String(), Type.Null()]),
  budget: Type.Union([Type.String(), Type.Null()]),
  interest: Type.Union([Type.String(), Type.Null()]),
  locale: Type.Union([Type.String(), Type.Null()]),
  consent: Type.Boolean(),
  consent_at: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  submissions: Type.Integer(),
  user_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  erased: Type.Boolean(),
})
export type LeadView = Static<typeof LeadView>

export const LeadFilters = Type.Object({
  status: Type.Optional(LeadStatusSchema),
  q: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'name, email or company contains' }),
  ),
  email: Type.Optional(Type.String({ maxLength: 254 })),
  interest: Type.Optional(Type.String({ maxLength: 200 })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'created at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'created before' })),
})
export type LeadFilters = Static<typeof LeadFilters>

export const LeadListQuery = Type.Object({
  ...LeadFilters.properties,
  // Bounded so the offset stays a number PostgreSQL can take (a larger page is bad input, not a 500).
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  // Offsets shift while leads arrive or leave a filter (an editor working the `new` ones): a page
  // read after the last lead seen neither repeats nor skips any.
  before: Type.Optional(
    Type.String({
      pattern: '^lead_[0-9A-Z]{26}$',
      description:
        'The last lead id seen: the leads after it in the list order (`page` counts on from it); ' +
        'a lead of the campaign, whatever its status now, else 400 `INVALID_CURSOR`',
    }),
  ),
})

export const PatchLeadBody = Type.Object({ status: LeadStatusSchema }, { additionalProperties: false })

/** An editor moved the lead along its lifecycle (`by` is the editor's user id). */
export const LeadStatusChange = Type.Object({
  field: Type.Literal('status'),
  from: LeadStatusSchema,
  to: LeadStatusSchema,
  by: Type.String(),
})
export type LeadStatusChange = Static<typeof LeadStatusChange>

/**
 * The data of `lead.created` / `lead.updated`, the same in the admins' `campaign_event` payload
 * and in the CRM webhook's `data` (see `submit` and `transition` in quote.service.ts).
 */
export const LeadCreatedEvent = Type.Object({ lead: LeadView })
/**
 * A resubmission within 24 h merges into the lead (`reason: resubmitted`), an editor changed its
 * status (`change`), or an admin erased it (`reason: erased`, `by`: the lead has no personal fields left).
 */
export const LeadUpdatedEvent = Type.Union([
  Type.Object({ lead: LeadView, reason: Type.Literal('resubmitted') }),
  Type.Object({ lead: LeadView, change: LeadStatusChange }),
  Type.Object({ lead: LeadView, reason: Type.Literal('erased'), by: Type.String() }),
])
/**
 * A lead was erased (an admin's erasure, or its submitter's account erased): the CRM should erase
 * its copy too (GDPR art. 17(2)). No personal field: the lead is named by its id.
 */
export const LeadErasedEvent = Type.Object({
  lead_id: Type.String(),
  campaign: Type.String(),
  erased_at: Type.String({ format: 'date-time' }),
})

export type LeadEventExtra =
  | { reason: 'resubmitted' }
  | { change: LeadStatusChange }
  | { reason: 'erased'; by: string }
  | Record<string, never>
