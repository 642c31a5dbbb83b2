import type { Config } from '../../config.js'
import type { Campaign } from '../campaign/campaign.schema.js'
import { DEFAULT_ALLOWED_TYPES } from './media.schema.js'

/** What a campaign's `custom_rules` say about uploads, each falling back to its default. */

export function normaliseType(type: string): string {
  return type.split(';')[0]!.trim().toLowerCase()
}

export function allowedTypes(campaign: Campaign): string[] {
  const rule = campaign.metadata.custom_rules?.media_allowed_types
  return Array.isArray(rule) && rule.every((t) => typeof t === 'string')
    ? rule.map((t) => normaliseType(t as string))
    : DEFAULT_ALLOWED_TYPES
}

export function maxBytes(campaign: Campaign, config: Pick<Config, 'MEDIA_MAX_BYTES'>): number {
  const rule = Number(campaign.metadata.custom_rules?.media_max_bytes)
  return Number.isInteger(rule) && rule > 0 ? Math.min(rule, config.MEDIA_MAX_BYTES) : config.MEDIA_MAX_BYTES
}
