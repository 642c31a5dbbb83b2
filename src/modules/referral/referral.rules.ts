import { AT_APPLY_RULES, type Campaign, hasFeature } from '../campaign/campaign.schema.js'

export interface ReferralRules {
  /** Referrals per code from one client IP (`max_referrals_per_ip`, default 3). */
  maxPerIp: number
  /** Qualified referrals per referrer (`max_referrals`), unlimited when absent. */
  maxReferrals: number | null
  /** The action that qualifies a referral (`referral_qualifies_on`, default `register`). */
  qualifiesOn: string
  /** Ascending thresholds that fire a milestone (`referral_milestones`). */
  milestones: number[]
}

export const DEFAULT_MILESTONES = [1, 5, 10, 25, 50, 100]
const AT_JOIN = new Set(AT_APPLY_RULES)

/** A positive integer that fits the counters' `integer` columns (a larger one would fail every comparison with them). */
const positiveInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 2_147_483_647 ? v : undefined

/** `custom_rules` are free-form JSON: anything malformed falls back to the default. */
export function referralRules(campaign: Pick<Campaign, 'metadata'>): ReferralRules {
  const rules = (campaign.metadata.custom_rules ?? {}) as Record<string, unknown>
  const milestones = Array.isArray(rules.referral_milestones)
    ? [...new Set(rules.referral_milestones.map(positiveInt).filter((n): n is number => n !== undefined))]
    : DEFAULT_MILESTONES
  return {
    maxPerIp: positiveInt(rules.max_referrals_per_ip) ?? 3,
    maxReferrals: positiveInt(rules.max_referrals) ?? (rules.max_referrals === 0 ? 0 : null),
    qualifiesOn:
      typeof rules.referral_qualifies_on === 'string' && rules.referral_qualifies_on
        ? rules.referral_qualifies_on
        : 'register',
    milestones: milestones.sort((a, b) => a - b).slice(0, 100),
  }
}

/**
 * How many referrers a board lists: `custom_rules.leaderboard_size`, 1–100, default 10. The board
 * `stats_update` carries and the REST one asked without a `limit` are the same.
 */
export function leaderboardSize(campaign: Pick<Campaign, 'metadata'>): number {
  const n = (campaign.metadata.custom_rules as Record<string, unknown> | undefined)?.leaderboard_size
  return typeof n === 'number' && Number.isInteger(n) ? Math.min(100, Math.max(1, n)) : 10
}

export function qualifiesAtApply(rules: ReferralRules): boolean {
  return AT_JOIN.has(rules.qualifiesOn)
}

/**
 * What pending referrals of the campaign qualify on now: its `referral_qualifies_on`, or null
 * while the `referral` feature is off (nothing qualifies then; they wait, and are checked again
 * when it is back on).
 */
export function activeRule(campaign: Pick<Campaign, 'metadata'>): string | null {
  return hasFeature(campaign, 'referral') ? referralRules(campaign).qualifiesOn : null
}

/** Resolves an action name or alias (see `ActionRegistry`); undefined for a tracked event's name. */
export type ActionNames = (name: string) => { name: string; aliases: string[] } | undefined

/**
 * The names an action satisfying `on` is logged under: the action's and all its aliases when
 * `on` names a registered action (`quote.submit` or `submit_quote`), else `on` itself (a tracked
 * event's name).
 */
export function ruleEvents(on: string, names?: ActionNames): string[] {
  const action = names?.(on)
  return action ? [action.name, ...action.aliases] : [on]
}
