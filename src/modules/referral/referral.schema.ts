import { type Static, Type } from 'typebox'
import { Slug } from '../campaign/campaign.schema.js'

const Code = Type.String({ minLength: 4, maxLength: 32 })

export const ApplyPayload = Type.Object({ code: Code }, { additionalProperties: false })
export type ApplyPayload = Static<typeof ApplyPayload>

export const ApplyBody = Type.Object({ campaign: Slug, code: Code }, { additionalProperties: false })
export type ApplyBody = Static<typeof ApplyBody>

export const ApplyResponse = Type.Object({
  referral_id: Type.Integer(),
  code: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('qualified'), Type.Literal('rejected')]),
})
export type ApplyResponse = Static<typeof ApplyResponse>

/** Display names only: the leaderboard is visible to every session of the campaign. */
export const LeaderboardEntry = Type.Object({
  rank: Type.Integer(),
  display_name: Type.String(),
  referrals: Type.Integer(),
})
export type LeaderboardEntry = Static<typeof LeaderboardEntry>

export const LeaderboardResponse = Type.Object({
  campaign: Type.String(),
  entries: Type.Array(LeaderboardEntry),
})

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  referral_id: Type.Union([Type.Integer(), Type.Null()]),
  code: Type.String(),
  actor: Type.String(),
  from_state: Type.Union([Type.String(), Type.Null()]),
  to_state: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  at: Type.String(),
})

/**
 * `referral.milestone`: the payload of the `campaign_event` the whole campaign gets, exactly once,
 * when a referrer's qualified count reaches a threshold (see referral.milestones.ts).
 * Display name only: every socket of the campaign sees it.
 */
export const MilestoneEvent = Type.Object({
  user_display_name: Type.String(),
  /** The referrer's qualified referrals when the threshold was crossed. */
  count: Type.Integer({ minimum: 1 }),
  threshold: Type.Integer({ minimum: 1 }),
  message: Type.String(),
})
export type MilestoneEvent = Static<typeof MilestoneEvent>
