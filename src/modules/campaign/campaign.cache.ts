import type { Campaign } from './campaign.schema.js'

/** A Map bounded to `max` keys that forgets the least recently used one first. */
export class LruMap<K, V> {
  readonly #map = new Map<K, V>()
  constructor(readonly max: number) {}

  get size(): number {
    return this.#map.size
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key)
    if (value !== undefined) {
      this.#map.delete(key)
      this.#map.set(key, value)
    }
    return value
  }

  set(key: K, value: V): void {
    this.#map.delete(key)
    this.#map.set(key, value)
    // A Map iterates in insertion order: its first key is the one used longest ago.
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value as K)
  }

  delete(key: K): boolean {
    return this.#map.delete(key)
  }
}

export interface CampaignCacheOptions {
  /** How long a read stands before the database is asked again (ms). Default 5 s. */
  ttlMs?: number
  /** Campaigns held at most. Default 5,000. */
  maxCampaigns?: number
  /** Slugs held as not existing at most. Default 1,000. */
  maxMissing?: number
}

/**
 * The campaigns a node has read, and apart from them the slugs it found no campaign for: anyone
 * can ask for random slugs (`/api/{random}/update`, `/ws/{random}/…`), and those only ever push
 * out one another, never a campaign being read. Both sides forget the least recently used first.
 */
export function createCampaignCache(options: CampaignCacheOptions = {}) {
  const { ttlMs = 5_000, maxCampaigns = 5_000, maxMissing = 1_000 } = options
  const found = new LruMap<string, { campaign: Campaign; until: number }>(maxCampaigns)
  const missing = new LruMap<string, number>(maxMissing)
  return {
    /** A read still standing: `{ campaign }` (undefined for none), or undefined to ask the database. */
    fresh(slug: string): { campaign: Campaign | undefined } | undefined {
      const now = Date.now()
      const hit = found.get(slug)
      if (hit && hit.until > now) return { campaign: hit.campaign }
      const none = missing.get(slug)
      if (none !== undefined && none > now) return { campaign: undefined }
      return undefined
    },
    /** The campaign held for `slug`, however old. */
    held(slug: string): Campaign | undefined {
      return found.get(slug)?.campaign
    },
    set(slug: string, campaign: Campaign | undefined): void {
      const until = Date.now() + ttlMs
      if (campaign) {
        missing.delete(slug)
        found.set(slug, { campaign, until })
      } else {
        found.delete(slug)
        missing.set(slug, until)
      }
    },
    delete(slug: string): void {
      found.delete(slug)
      missing.delete(slug)
    },
  }
}
