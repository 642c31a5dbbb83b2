import type { Campaign, OvasabiClient } from '../../../client/index.js'

/**
 * Removes top-level metadata `keys` in one merge patch (RFC 7396, each set to `null`), on the
 * condition that the campaign is still at `version` (`If-Match`: 412 `PRECONDITION_FAILED`
 * otherwise). `campaigns.update` would send `metadata` whole, checked whole. Sent through the
 * console's client, so a refused key (401) returns to the login as on every other screen.
 */
export function removeMetadataKeys(
  client: OvasabiClient,
  slug: string,
  keys: string[],
  version: number,
): Promise<Campaign> {
  const metadata = Object.fromEntries(keys.map((key) => [key, null]))
  return client.campaigns.mergePatch(slug, { metadata }, { ifMatch: version })
}
