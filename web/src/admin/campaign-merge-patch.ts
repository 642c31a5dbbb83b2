import { type Campaign, OvasabiError, type OvasabiClient } from '../../../client/index.js'

/**
 * `PATCH /api/campaign/{slug}` as `application/merge-patch+json` (RFC 7396), on the condition
 * that the campaign is still at `version` (`If-Match`: 412 `PRECONDITION_FAILED` otherwise).
 * The client's `campaigns.update` sends `application/json` only, where `metadata` is replaced
 * whole and checked whole: a merge patch names just the keys it sets, `null` removing one.
 */
export async function mergePatchCampaign(
  client: OvasabiClient,
  slug: string,
  patch: Record<string, unknown>,
  version: number,
): Promise<Campaign> {
  const path = `/api/campaign/${encodeURIComponent(slug)}`
  let res: Response
  let raw: string
  try {
    res = await globalThis.fetch(client.http.url(path), {
      method: 'PATCH',
      headers: {
        accept: 'application/json',
        'content-type': 'application/merge-patch+json',
        'if-match': `"${version}"`,
        ...client.http.authHeaders(),
      },
      body: JSON.stringify(patch),
    })
    raw = await res.text()
  } catch (err) {
    throw new OvasabiError('NETWORK_ERROR', `PATCH ${path}: ${String(err)}`, { cause: err })
  }
  let body: unknown
  try {
    body = raw ? JSON.parse(raw) : undefined
  } catch {
    body = undefined
  }
  if (!res.ok) throw OvasabiError.fromBody(res.status, body, res.headers)
  return body as Campaign
}
