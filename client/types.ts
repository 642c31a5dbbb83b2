// Types shared with the server: imported from its TypeBox schemas, never copied (the modules' route
// shapes are in `contracts.ts`, the socket frames in `frames.ts`).
import type { Static } from 'typebox'
import type {
  CampaignMetadata as CampaignMetadataType,
  CampaignResponse,
  CampaignStatus as CampaignStatusType,
  CreateCampaignBody,
  Feature as FeatureType,
  UpdateCampaignBody,
} from '../src/modules/campaign/campaign.schema.js'
import type { SessionResponse } from '../src/modules/session/session.routes.js'
import type { Envelope as ServerEnvelope, EnvelopeInput, SeedInput } from '../src/nexus/envelope.js'
import type { ActionResponse } from '../src/nexus/routes.js'
import type { ErrorBody } from '../src/platform/http/errors.js'
import type { OvasabiError } from './errors.js'

export type Campaign = Static<typeof CampaignResponse>
// The schema builds `features` with `Type.Union(FEATURES.map(...))`, whose static type is `never[]`;
// callers need the feature names, so that one field is restated from the exported `Feature` union.
export type CampaignMetadata = Omit<CampaignMetadataType, 'features'> & { features?: FeatureType[] }
export type CampaignStatus = CampaignStatusType
export type Feature = FeatureType
export type CreateCampaignInput = Omit<CreateCampaignBody, 'metadata'> & { metadata?: CampaignMetadata }
export type UpdateCampaignInput = Omit<UpdateCampaignBody, 'metadata'> & { metadata?: CampaignMetadata }
export type Session = Static<typeof SessionResponse>
export type ActionEnvelope = EnvelopeInput
export type SeedAction = SeedInput
export type FilledEnvelope = ServerEnvelope
export type ActionSuccess<R = unknown> = Omit<Static<typeof ActionResponse>, 'result'> & { result: R }
export type RestErrorBody = ErrorBody

/**
 * Called by `RealtimeConnection.onError` with a refusal of the socket's upgrade, as the server
 * answered the probe of its URL: `status` (401, 403, 404, 409, 410, 400; 429 with `retryAfter`),
 * the server's `code` (`TOKEN_EXPIRED`, `USER_MISMATCH`, `ORIGIN_NOT_ALLOWED`, `CAMPAIGN_NOT_FOUND`,
 * `CAMPAIGN_NOT_ACTIVE`, `TOO_MANY_CONNECTIONS`, …), `message` and `details`. Also, with status 0
 * and the exception as `cause`: `HANDLER_FAILED` (one of the connection's handlers threw;
 * `details.handler` names it) and `TOKEN_UNAVAILABLE` (the `token` function threw; retried).
 */
export type RealtimeErrorHandler = (error: OvasabiError) => void

/** What `GET /api/campaign/{slug}` returns to a guest or participant. */
export interface PublicCampaign {
  slug: string
  title: string
  description: string
  status: string
  metadata: { features: string[]; scheduling: Record<string, unknown>; tags: string[] }
}

export interface CampaignList {
  campaigns: Campaign[]
  total: number
  page: number
}

export interface CampaignStats {
  campaign: string
  status: string
  events_total: number
  sessions: number
  /** The 100 most counted tracked event names. */
  events: Record<string, number>
  /** How many event names were counted in all (more than `events` lists when over 100). */
  event_names: number
  counters: Record<string, number>
}

export interface AuditEntry {
  id: number
  actor: string
  action: string
  changes: unknown
  at: string
}

export interface HealthReport {
  status: string
  [key: string]: unknown
}
