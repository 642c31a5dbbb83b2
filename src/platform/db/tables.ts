import type { ColumnType, Generated, JSONColumnType } from 'kysely'

/** Timestamps: Date when read, a Date or ISO string when written, defaulted by the database. */
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>
export type Timestamp = ColumnType<Date, Date | string, Date | string>
export type Json<T extends object | null = Record<string, unknown>> = JSONColumnType<
  T,
  T | string,
  T | string
>

export interface CampaignMainTable {
  id: Generated<number>
  slug: string
  title: string
  description: string
  metadata: Json
  draft: ColumnType<boolean, boolean | undefined, boolean>
  archived_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  version: Generated<number>
  created_by: string
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface CampaignAuditTable {
  id: Generated<number>
  campaign_slug: string
  actor: string
  action: string
  changes: Json
  at: CreatedAt
}

/** A counter is the sum of its shards (see migration 008). */
export interface CampaignCounterTable {
  campaign_slug: string
  name: string
  shard: ColumnType<number, number | undefined, number>
  count: number
}

export interface CampaignSessionTable {
  campaign_slug: string
  session_id: string
  first_seen_at: CreatedAt
}

export interface NexusRequestTable {
  campaign_slug: string
  actor: string
  request_id: string
  status: 'pending' | 'done'
  status_code: ColumnType<number | null, number | null | undefined, number | null>
  response: ColumnType<unknown, string | null | undefined, string | null>
  /** What the id was first used for (nexus/idempotency.ts `requestFingerprint`); null before migration 016. */
  fingerprint: ColumnType<string | null, string | null | undefined, string | null>
  /** The person the answer is about (a join's new member), whoever sent it; see migration 022. */
  subject_user_id: ColumnType<string | null, string | null | undefined, string | null>
  created_at: CreatedAt
  expires_at: Timestamp
}

export interface AnalyticsEventTable {
  id: Generated<number>
  event_id: string
  campaign_slug: string
  event: string
  user_id: string
  session_id: string
  payload: Json<object | null>
  metadata: Json<object | null>
  timestamp: Timestamp
  received_at: Timestamp
}

export interface ApiKeyTable {
  id: string
  name: string
  role: string
  key_hash: string
  created_at: CreatedAt
  last_used_at: ColumnType<Date | null, never, Date | string | null>
  revoked_at: ColumnType<Date | null, never, Date | string | null>
  /** When the key stops working by itself (null: never); migration 037. */
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  /** The campaign slugs the key may act on (null: every campaign); migration 041. */
  campaigns: ColumnType<string[] | null, string | null | undefined, string | null>
}

export interface UserMasterTable {
  id: string
  email: string | null
  display_name: string
  password_hash: string | null
  locale: string | null
  consent: Json<{ text_version: string; at: string } | null>
  metadata: Json
  created_at: CreatedAt
  updated_at: Timestamp
  erased_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  /** Every user token of the person issued before this is refused (log out everywhere). */
  tokens_valid_after: ColumnType<Date | null, Date | null | undefined, Date | null>
  /** What the person may do beyond taking part (migration 035); their tokens carry it. */
  role: ColumnType<'participant' | 'editor' | 'admin', 'participant' | 'editor' | 'admin' | undefined>
  /** When the person last proved they read `email`'s mail (migration 044); null once it changes. */
  email_verified_at: ColumnType<Date | null, Date | null | undefined, Date | null>
}

export interface UserMembershipTable {
  campaign_slug: string
  user_id: string
  referral_code: string
  session_id: string
  joined_at: CreatedAt
  /** Whose user token the join presented, when another person's (see `sessionFor`), and its session. */
  joined_via_user_id: ColumnType<string | null, string | null | undefined, string | null>
  joined_via_session_id: ColumnType<string | null, string | null | undefined, string | null>
}

/** A session a person continued without a membership recording it (a guest who logged in). */
export interface UserSessionTable {
  user_id: string
  session_id: string
  linked_at: CreatedAt
}

/** A password-reset link sent and not yet used, superseded or expired (see migration 043). */
export interface UserPasswordResetTable {
  token_hash: string
  user_id: string
  created_at: CreatedAt
  expires_at: Date
}

/** A verification link sent and not yet used, superseded or expired (see migration 044). */
export interface UserEmailVerificationTable {
  token_hash: string
  user_id: string
  /** The address the link was sent to: it confirms that one only. */
  email: string
  created_at: CreatedAt
  expires_at: Date
}

export interface UserEmailChangeTable {
  token_hash: string
  user_id: string
  /** The new address the link was mailed to: using it makes that the person's. */
  email: string
  created_at: CreatedAt
  expires_at: Date
}

/** An address a person had before a change: what an erasure also looks for. */
export interface UserFormerEmailTable {
  user_id: string
  email: string
  until: Generated<Date>
}

/** A session a person's user token was issued for: where they are signed in (see migration 046). */
export interface UserSigninTable {
  user_id: string
  session_id: string
  /** The browser's User-Agent header as it last sent it, cut to 300 characters. */
  user_agent: string | null
  /** The client network it last came from: an IPv4 address, or an IPv6 /64. */
  network: string | null
  /** When the session was authenticated (its tokens' `auth_time`). */
  signed_in_at: Date
  /** When it was last given a token (the token's issue time, by the clock of the node that issued it). */
  last_active_at: Generated<Date>
  /** The person's cut-off that token was issued under (its `va`); null when they had none then. */
  cut_off: Date | null
}

export interface UserRevokedSessionTable {
  session_id: string
  reason: string
  revoked_at: CreatedAt
}

export type ReferralState = 'pending' | 'qualified' | 'rejected'

export interface ReferralMainTable {
  id: Generated<number>
  campaign_slug: string
  code: string
  referrer_id: string
  referred_id: string
  state: ReferralState
  reason: string | null
  ip_hash: string
  metadata: Json
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface ReferralAuditTable {
  id: Generated<number>
  campaign_slug: string
  referral_id: number | null
  code: string
  actor: string
  from_state: string | null
  to_state: string
  reason: string | null
  at: CreatedAt
}

export interface ReferralCounterTable {
  campaign_slug: string
  user_id: string
  qualified: ColumnType<number, number | undefined, number>
  pending: ColumnType<number, number | undefined, number>
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface ReferralIpCountTable {
  campaign_slug: string
  code: string
  ip_hash: string
  count: number
}

export interface ReferralMilestoneTable {
  campaign_slug: string
  user_id: string
  threshold: number
  count: number
  reached_at: CreatedAt
  /** When its `referral.milestone` went out; null until then (migration 017: earlier rows count as announced). */
  announced_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  /** Until then only its claimant (the committing request, or a sweep) may announce it; then any sweep. */
  announce_after: ColumnType<Date, Date | string | undefined, Date | string>
}

/** Per campaign: the rule its pending referrals were last checked against (migration 026). */
export interface ReferralRecheckTable {
  campaign_slug: string
  campaign_version: number
  qualifies_on: string | null
  after_id: ColumnType<string, number | string | undefined, number | string>
  passes_left: ColumnType<number, number | undefined, number>
  due_at: ColumnType<Date, Date | string | undefined, Date | string>
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface LocalizationTranslationTable {
  text_hash: string
  source: string
  target: string
  format: string
  context: string
  source_text: string
  translated_text: string
  provider: string
  detected_source: string | null
  created_at: CreatedAt
  /** When the row last answered (or was written): the retention sweep removes rows unused too long. */
  used_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface LocalizationCatalogTable {
  campaign_slug: string
  key: string
  locale: string
  text: string
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface MediaMainTable {
  id: string
  campaign_slug: string
  owner_user_id: string
  owner_session_id: string
  status: 'pending' | 'uploading' | 'processing' | 'ready' | 'failed'
  filename: string
  declared_type: string
  content_type: string | null
  /** bigint: read as a string by node-postgres, a number by PGlite. */
  max_bytes: ColumnType<string | number, number, number>
  size_bytes: ColumnType<string | number | null, number | null | undefined, number | null>
  sha256: string | null
  width: number | null
  height: number | null
  storage_key: string
  thumbnail_key: string | null
  upload_expires_at: Timestamp
  upload_used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  failure_reason: string | null
  metadata: Json
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export type LeadStatus = 'new' | 'contacted' | 'qualified' | 'won' | 'lost'

export interface QuoteMainTable {
  id: string
  campaign_slug: string
  email: string | null
  name: string | null
  company: string | null
  phone: string | null
  message: string | null
  budget: string | null
  interest: string | null
  locale: string | null
  consent: ColumnType<boolean, boolean | undefined, boolean>
  consent_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  metadata: Json
  status: ColumnType<LeadStatus, LeadStatus | undefined, LeadStatus>
  user_id: string
  session_id: string
  submissions: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
  erased_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

export interface NotificationWebhookTable {
  id: string
  campaign_slug: string
  url: string
  events: Json<string[]>
  description: ColumnType<string, string | undefined, string>
  secret_sealed: string
  /** The secret before the last rotation, still signing beside the new one until it expires. */
  previous_secret_sealed: ColumnType<string | null, string | null | undefined, string | null>
  previous_secret_expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  /**
   * The secrets rotated out before that one and still in their grace period, newest first, each
   * sealed: `[{sealed, expires_at}]` (at most `MAX_PREVIOUS_SECRETS` - 1, see webhook.service.ts).
   */
  older_secrets: ColumnType<Array<{ sealed: string; expires_at: string }>, string | undefined, string>
  enabled: ColumnType<boolean, boolean | undefined, boolean>
  disabled_reason: ColumnType<string | null, string | null | undefined, string | null>
  /** When it was disabled (null while enabled, and for endpoints disabled before migration 031). */
  disabled_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  consecutive_failures: ColumnType<number, number | undefined, number>
  circuit_open_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  created_by: string
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export type OutboxStatus = 'pending' | 'sending' | 'delivered' | 'failed' | 'cancelled'

export interface NotificationOutboxTable {
  id: Generated<number>
  message_id: string
  webhook_id: string
  campaign_slug: string
  event: string
  subject_id: string | null
  payload: Json<object>
  status: ColumnType<OutboxStatus, OutboxStatus | undefined, OutboxStatus>
  attempts: ColumnType<number, number | undefined, number>
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>
  lease_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  last_error: ColumnType<string | null, string | null | undefined, string | null>
  created_at: CreatedAt
  delivered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  /** This attempt is its endpoint's half-open probe (migration 040; see `claimDue`). */
  probe: ColumnType<boolean, boolean | undefined, boolean>
}

export interface NotificationDeliveryTable {
  id: Generated<number>
  outbox_id: number
  webhook_id: string
  attempt: number
  status_code: number | null
  error: string | null
  duration_ms: number
  created_at: CreatedAt
}

export interface StreamUserTable {
  id: Generated<number>
  email: string
  password_hash: string
  role: ColumnType<'default' | 'editor' | 'admin', 'default' | 'editor' | 'admin' | undefined>
  is_service_account: ColumnType<boolean, boolean | undefined, boolean>
  /** Tokens issued before this are refused (migration 018); null: none were cut off. */
  tokens_valid_after: ColumnType<Date | null, Date | null | undefined, Date | null>
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface StreamTokenDenylistTable {
  jti: string
  expires_at: Timestamp
}

type NullableText = ColumnType<string | null, string | null | undefined, string | null>
type NullableTime = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

export interface StreamMainTable {
  id: Generated<number>
  user_id: ColumnType<number | null, number | null | undefined, number | null>
  /** The API key that created the stream (migration 018); it may change the stream like an owner. */
  apikey_id: NullableText
  /** The console person that created the stream (migration 039); they may change it like an owner. */
  person_id: NullableText
  source: NullableText
  link: string
  normalized_link: string
  status: ColumnType<string, string | undefined, string>
  is_pinned: ColumnType<boolean, boolean | undefined, boolean>
  is_archived: ColumnType<boolean, boolean | undefined, boolean>
  city: NullableText
  state: NullableText
  platform: ColumnType<string, string | undefined, string>
  notes: NullableText
  title: NullableText
  posted_by: NullableText
  orientation: NullableText
  kind: ColumnType<string, string | undefined, string>
  last_checked_at: NullableTime
  last_live_at: NullableTime
  campaign_slug: NullableText
  owner_id: NullableText
  live_status: NullableText
  /** sha256 (hex) of the campaign stream's publishing key; the key itself is never stored. */
  ingest_key_hash: NullableText
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface StreamSettingTable {
  key: string
  value: Json<object>
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface AmadeusSnapshotTable {
  id: Generated<number>
  version: number
  hash: string
  reason: string
  graph: Json<{ nodes: unknown[]; edges: unknown[] }>
  diff: Json<{
    added_nodes: string[]
    removed_nodes: string[]
    added_edges: string[]
    removed_edges: string[]
  }>
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>
  created_at: ColumnType<Date, Date | string | undefined, never>
}

/**
 * Every table Ovasabi owns, named `service_{service}_{entity}`. Modules add theirs here next to
 * the migration that creates them.
 */
export interface Database {
  service_campaign_main: CampaignMainTable
  service_campaign_audit: CampaignAuditTable
  service_campaign_counter: CampaignCounterTable
  service_campaign_session: CampaignSessionTable
  service_nexus_request: NexusRequestTable
  service_analytics_event: AnalyticsEventTable
  service_security_apikey: ApiKeyTable
  service_user_master: UserMasterTable
  service_user_membership: UserMembershipTable
  service_user_revoked_session: UserRevokedSessionTable
  service_user_session: UserSessionTable
  service_user_password_reset: UserPasswordResetTable
  service_user_email_verification: UserEmailVerificationTable
  service_user_email_change: UserEmailChangeTable
  service_user_former_email: UserFormerEmailTable
  service_user_signin: UserSigninTable
  service_referral_main: ReferralMainTable
  service_referral_audit: ReferralAuditTable
  service_referral_counter: ReferralCounterTable
  service_referral_ipcount: ReferralIpCountTable
  service_referral_milestone: ReferralMilestoneTable
  service_referral_recheck: ReferralRecheckTable
  service_localization_translation: LocalizationTranslationTable
  service_localization_catalog: LocalizationCatalogTable
  service_media_main: MediaMainTable
  service_quote_main: QuoteMainTable
  service_notification_webhook: NotificationWebhookTable
  service_notification_outbox: NotificationOutboxTable
  service_notification_delivery: NotificationDeliveryTable
  service_stream_user: StreamUserTable
  service_stream_token_denylist: StreamTokenDenylistTable
  service_stream_main: StreamMainTable
  service_stream_setting: StreamSettingTable
  service_amadeus_snapshot: AmadeusSnapshotTable
}
