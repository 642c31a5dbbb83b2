// Request and response shapes of the modules' REST routes and actions, taken from the server's own
// TypeBox schemas with `import type` (erased at build time: the browser bundle carries none of
// the server). Only query shapes that a route declares inline are restated here.
import type { Static } from 'typebox'
import type { ImpactEntry as ServerImpactEntry } from '../src/amadeus/impact.js'
import type {
  GraphEdge as ServerGraphEdge,
  GraphNode as ServerGraphNode,
  LiveNode,
} from '../src/amadeus/graph.schema.js'
import type {
  Catalog as ServerCatalog,
  CatalogResponse,
  LanguagesResponse,
  TranslateInput as ServerTranslateInput,
  TranslateResult as ServerTranslateResult,
  Translation as ServerTranslation,
} from '../src/modules/localization/localization.schema.js'
import type {
  MediaResponse,
  MediaStatus as ServerMediaStatus,
  UploadPayload,
  UploadTicket,
} from '../src/modules/media/media.schema.js'
import type {
  CreateWebhookBody,
  UpdateWebhookBody,
  DeliveryView,
  MessageView,
  WebhookView,
  WEBHOOK_EVENTS,
  WebhookWithSecret,
} from '../src/modules/notification/webhook.schema.js'
import type { LeadView, QuoteFields, SubmitResult } from '../src/modules/quote/quote.schema.js'
import type {
  ApplyBody,
  ApplyResponse,
  LeaderboardEntry as ServerLeaderboardEntry,
  LeaderboardResponse,
} from '../src/modules/referral/referral.schema.js'
import type { StreamJson } from '../src/modules/stream/stream.schema.js'
import type {
  AuthResponse,
  EndSignInResponse,
  EraseResponse,
  LoginBody,
  LogoutResponse,
  MeResponse,
  RegisterPayload,
  SignInList as ServerSignInList,
  UpdateMeBody,
  UserView,
} from '../src/modules/user/user.schema.js'
import type {
  ChangePasswordBody,
  ForgotPasswordBody,
  ForgotPasswordResponse,
  ResetPasswordBody,
  ResetPasswordResponse,
} from '../src/modules/user/password-reset.schema.js'
import type {
  ChangeEmailBody,
  ChangeEmailResponse,
  RequestVerificationBody,
  RequestVerificationResponse,
  VerifyEmailBody,
  VerifyEmailResponse,
} from '../src/modules/user/email-verification.schema.js'
import type {
  PeopleList as ServerPeopleList,
  PeopleQuery as ServerPeopleQuery,
} from '../src/modules/user/people.schema.js'
import type { SetRoleResponse } from '../src/modules/user/user.schema.js'
import type { LeadStatus as ServerLeadStatus } from '../src/platform/db/tables.js'
import type {
  ApiKeyList as ServerApiKeyList,
  ApiKeySummary as ServerApiKeySummary,
  CreateApiKeyBody,
  CreatedApiKey as ServerCreatedApiKey,
  RevokedApiKey as ServerRevokedApiKey,
} from '../src/platform/auth/apikeys.schema.js'

/** `POST /api/user/register`: the `user.register` payload plus the campaign slug. */
export type RegisterInput = RegisterPayload & { campaign: string }
export type User = UserView
export type AuthResult = AuthResponse
export type LoginInput = LoginBody
/** `DELETE /api/user/{id}`: whom, and when they were erased (the first time, for a repeat). */
export type EraseResult = Static<typeof EraseResponse>
/** `POST /api/auth/logout` and `/api/auth/logout/all`. */
export type LogoutResult = LogoutResponse
/** `POST /api/auth/password/forgot`: the address a reset link is mailed to, if an account has it. */
export type ForgotPasswordInput = ForgotPasswordBody
/** `{ status: 'accepted' }` whether or not an account has the address, so it tells no one which do. */
export type ForgotPasswordResult = Static<typeof ForgotPasswordResponse>
/** `POST /api/auth/password/reset`: the token from the mailed link and the password chosen. */
export type ResetPasswordInput = ResetPasswordBody
/** `{ status: 'password_reset' }`. */
export type ResetPasswordResult = Static<typeof ResetPasswordResponse>
/** `POST /api/auth/password`: the password signed in with now (`current_password`) and the new one. */
export type ChangePasswordInput = ChangePasswordBody
/** `POST /api/auth/email/verification`: optionally the campaign whose page the link opens. */
export type EmailVerificationRequestInput = RequestVerificationBody
/** `POST /api/auth/email/verification`: `sent` (a link is mailed to the address) or `already_verified`. */
export type EmailVerificationRequestResult = Static<typeof RequestVerificationResponse>
/** `POST /api/auth/email`: the new address and the password signed in with (`current_password`). */
export type ChangeEmailInput = ChangeEmailBody
/** `{ status: 'sent', email }`: a link confirming the new address (as stored) was mailed to it. */
export type ChangeEmailResult = Static<typeof ChangeEmailResponse>
/** `POST /api/auth/email/verify`: the token from the mailed link (after `#token=`). */
export type VerifyEmailInput = VerifyEmailBody
/** `{ status: 'email_verified', email_verified_at }`: when the address was confirmed (ISO date-time). */
export type VerifyEmailResult = Static<typeof VerifyEmailResponse>
/**
 * `GET /api/auth/me`: the caller as the server sees them. `user` (email included) is set only for
 * a person's own token; null for a guest session or an API key.
 */
export type Me = MeResponse
/**
 * `PATCH /api/auth/me`: a person's own `display_name` (trimmed) or `locale` (null: English); at
 * least one, nothing else.
 */
export type MeUpdate = UpdateMeBody
/** `GET /api/auth/sessions`: where the person is signed in, most recently active first. */
export type SignInList = ServerSignInList
export type SignIn = ServerSignInList['sessions'][number]
/** `DELETE /api/auth/sessions/{id}`: `current` when it was the caller's own. */
export type EndedSession = Static<typeof EndSignInResponse>
/** `GET /api/users` (admin): people to give a role, newest first; `has_more` says another page follows. */
export type PeopleQuery = ServerPeopleQuery
export type PeopleList = ServerPeopleList
export type Person = ServerPeopleList['people'][number]
/** What a person may do beyond taking part: `editor` and `admin` may use the console. */
export type PersonRole = Person['role']
/** `PUT /api/user/{id}/role`: `tokens_valid_after` when the role was lowered (their tokens cut off). */
export type RoleChange = SetRoleResponse
/** `POST /api/apikeys` (admin): `expires_in_seconds` or `expires_at`, not both; `campaigns` must exist. */
export type ApiKeyInput = CreateApiKeyBody
/** The answer to `POST /api/apikeys`: `key` is shown only this once. */
export type CreatedApiKey = ServerCreatedApiKey
/** One key as `GET /api/apikeys` lists it (never the key itself). */
export type ApiKeySummary = ServerApiKeySummary
export type ApiKeyList = ServerApiKeyList
/** `DELETE /api/apikeys/{id}`: the same answer for a key revoked before. */
export type RevokedApiKey = ServerRevokedApiKey

export type LeadStatus = ServerLeadStatus
/** `POST /api/quote`: the quote form plus the campaign slug. */
export type QuoteInput = QuoteFields & { campaign: string }
export type QuoteSubmitResult = Static<typeof SubmitResult>
export type Lead = LeadView
export interface LeadList {
  leads: Lead[]
  total: number
  page: number
  per_page: number
}

export type ReferralInput = ApplyBody
export type ReferralResult = ApplyResponse
export type LeaderboardEntry = ServerLeaderboardEntry
export type Leaderboard = Static<typeof LeaderboardResponse>

type TranslateTarget = NonNullable<ServerTranslateInput['target']>
type TranslateContext = NonNullable<ServerTranslateInput['context']>
/**
 * `POST /api/translate` and `localization.translate`: `target` names the languages, or, when it
 * is absent, `context.locale` (the reader's locale) is the one target. One of them is required
 * (the server refuses neither with 400 `VALIDATION_FAILED`); a named `target` wins over the locale.
 */
export type TranslateInput = Omit<ServerTranslateInput, 'target' | 'context'> &
  (
    | { target: TranslateTarget; context?: TranslateContext }
    | { target?: undefined; context: TranslateContext & { locale: string } }
  )
export type Translation = ServerTranslation
export type TranslateResult = ServerTranslateResult
export type Languages = Static<typeof LanguagesResponse>
export type Language = Languages['languages'][number]
/** A campaign's translation catalog: key → locale → text. */
export type Catalog = ServerCatalog
export type CatalogView = Static<typeof CatalogResponse>

export type MediaUploadInput = UploadPayload
export type MediaUpload = UploadTicket
export type Media = MediaResponse
export type MediaStatus = ServerMediaStatus
/** `GET /api/campaign/{slug}/media` (editor): newest first, restated from the route's inline query. */
export interface MediaListQuery {
  /** 1–500, default 100. */
  limit?: number
  /** The last `media_id` of the previous page: the next page starts after it (even once it is deleted). */
  before?: string
  /** Only media in this state (e.g. `failed`). */
  status?: MediaStatus
}

/** `stream.start`: without `stream_id` a new stream, with it go live (see `stream/live.actions.ts`). */
export interface StreamStartInput {
  title?: string
  stream_id?: number | string
}
export interface CampaignStream {
  stream_id: string | number
  ingest_url?: string
  playback_url?: string
  status?: string
  [key: string]: unknown
}

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]
// A union mapped from a list infers as `never[]` in TypeBox: `events` is pinned to the list.
export type WebhookInput = Omit<Static<typeof CreateWebhookBody>, 'events'> & { events: WebhookEvent[] }
export type WebhookUpdate = Omit<Static<typeof UpdateWebhookBody>, 'events'> & { events?: WebhookEvent[] }
export type Webhook = Static<typeof WebhookView>
export type CreatedWebhook = Static<typeof WebhookWithSecret>
export type WebhookDelivery = Static<typeof DeliveryView>
export type WebhookMessage = Static<typeof MessageView>

/** A StreamSource registry stream (`/api/v1/streams`). */
export type SourceStream = StreamJson

export interface SourceStreamList {
  streams: SourceStream[]
  meta: { current_page: number; total_pages: number; total_count: number; per_page: number }
}

export interface SourceStreamQuery {
  status?: string
  notStatus?: string
  is_pinned?: boolean
  is_archived?: boolean
  user_id?: string | number
  search?: string
  sort?: string
  page?: number
  per_page?: number
}

export type GraphNode = ServerGraphNode
export type GraphEdge = ServerGraphEdge
export interface LiveGraph {
  hash: string
  nodes: LiveNode[]
  edges: GraphEdge[]
}
export type ImpactEntry = ServerImpactEntry
export interface Impact {
  node: GraphNode
  count: number
  impacted: ImpactEntry[]
}
