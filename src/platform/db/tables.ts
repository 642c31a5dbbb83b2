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

export interface CampaignCounterTable {
  campaign_slug: string
  name: string
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
  service_amadeus_snapshot: AmadeusSnapshotTable
}
