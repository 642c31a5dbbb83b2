// Request and response shapes of modules that are specified (ARCHITECTURE.md, issues 3–6, 8) but
// not yet on this branch. Each is replaced by an `import type` of the module's schema when it
// merges; until then the SDK tolerates extra fields and the UI reads them defensively.

export interface RegisterInput {
  email: string
  name: string
  password?: string
  locale?: string
  consent?: boolean
  referral_code?: string
  campaign_id?: string
  metadata?: Record<string, unknown>
}

export interface User {
  id: string
  name: string
  email?: string
  referral_code?: string
  referral_link?: string
  [key: string]: unknown
}

export interface AuthResult {
  user: User
  token: string
  [key: string]: unknown
}

export interface LoginInput {
  email: string
  password: string
  campaign_id?: string
}

export type LeadStatus = 'new' | 'contacted' | 'qualified' | 'won' | 'lost'

export interface QuoteInput {
  name: string
  email: string
  company?: string
  phone?: string
  message?: string
  budget?: string
  interest?: string
  locale?: string
  consent?: boolean
  campaign_id?: string
  metadata?: Record<string, unknown>
  /** Honeypot: left empty by people, filled by bots. */
  website?: string
}

export interface Lead {
  id: string | number
  status: LeadStatus | string
  name?: string
  email?: string
  company?: string
  message?: string
  created_at?: string
  updated_at?: string
  [key: string]: unknown
}

export interface LeadList {
  leads: Lead[]
  total?: number
  page?: number
  [key: string]: unknown
}

export interface ReferralInput {
  code: string
  campaign_id?: string
}

export interface LeaderboardEntry {
  user_id?: string
  name: string
  referrals: number
  [key: string]: unknown
}

export interface TranslateInput {
  q: string | string[]
  source: string
  target: string | string[]
  format?: 'text' | 'html'
  context?: { page?: string; key?: string; locale?: string; description?: string }
  campaign_id?: string
}

export interface Translation {
  text?: string
  translatedText?: string
  provider?: string
  [key: string]: unknown
}

export interface TranslateResult {
  translations: Translation[]
  [key: string]: unknown
}

export interface Language {
  code: string
  name: string
  [key: string]: unknown
}

export interface MediaUploadInput {
  filename: string
  content_type: string
  size: number
  metadata?: Record<string, unknown>
}

export interface MediaUpload {
  media_id: string
  upload_url: string
  expires_at?: string
  max_bytes?: number
  [key: string]: unknown
}

export interface StreamStartInput {
  title: string
  metadata?: Record<string, unknown>
}

export interface CampaignStream {
  stream_id: string
  ingest_url?: string
  playback_url?: string
  status?: string
  [key: string]: unknown
}

export interface WebhookInput {
  url: string
  events: string[]
}

export interface Webhook {
  id: string
  url: string
  events: string[]
  secret?: string
  disabled?: boolean
  created_at?: string
  [key: string]: unknown
}

export interface WebhookDelivery {
  id: string
  event?: string
  status?: string
  attempts?: number
  response_status?: number | null
  created_at?: string
  [key: string]: unknown
}

/** A StreamSource registry stream (`/api/v1/streams`). */
export interface SourceStream {
  id: number | string
  link: string
  source?: string
  title?: string | null
  status: 'live' | 'offline' | 'unknown' | string
  platform?: string
  is_pinned: boolean
  is_archived?: boolean
  city?: string | null
  state?: string | null
  created_at?: string
  updated_at?: string
  [key: string]: unknown
}

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
