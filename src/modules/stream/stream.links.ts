/** Link handling for the stream registry: validation, duplicate keys and platform detection. */

export const PLATFORMS = ['tiktok', 'facebook', 'twitch', 'youtube', 'instagram', 'kick', 'other'] as const
export type Platform = (typeof PLATFORMS)[number]

/** Query parameters that only track where a click came from; they never identify a stream. */
const TRACKING = new Set([
  'fbclid',
  'gclid',
  'dclid',
  'msclkid',
  'igshid',
  'igsh',
  'mc_cid',
  'mc_eid',
  'ref',
  'ref_src',
  'ref_url',
  'si',
  'feature',
  '_t',
  '_r',
  'is_from_webapp',
  'sender_device',
  'mibextid',
])

/** The URL when `raw` is an absolute http(s) URL with a host, else undefined. */
export function parseHttpUrl(raw: string): URL | undefined {
  const text = raw.trim()
  if (!/^https?:\/\//i.test(text) || /\s/.test(text)) return undefined
  try {
    const url = new URL(text)
    return url.hostname.includes('.') || url.hostname === 'localhost' ? url : undefined
  } catch {
    return undefined
  }
}

/**
 * The duplicate-detection key of a link: no scheme, lower-case host without `www.`, no trailing
 * slash, no fragment, tracking parameters removed and the rest sorted. `http://www.twitch.tv/x/`
 * and `https://twitch.tv/x?utm_source=discord` have the same key.
 */
export function normalizeLink(raw: string): string | undefined {
  const url = parseHttpUrl(raw)
  if (!url) return undefined
  const host = url.hostname.toLowerCase().replace(/^www\./, '')
  const port = url.port ? `:${url.port}` : ''
  const path = url.pathname.replace(/\/+$/, '')
  const params = [...url.searchParams]
    .filter(([k]) => !k.toLowerCase().startsWith('utm_') && !TRACKING.has(k.toLowerCase()))
    .sort(([a, av], [b, bv]) => (a === b ? av.localeCompare(bv) : a.localeCompare(b)))
  const query = params.length ? `?${new URLSearchParams(params).toString()}` : ''
  return `${host}${port}${path}${query}`
}

const HOSTS: Array<[RegExp, Platform]> = [
  [/(^|\.)tiktok\.com$/, 'tiktok'],
  [/(^|\.)(facebook\.com|fb\.com|fb\.watch)$/, 'facebook'],
  [/(^|\.)twitch\.tv$/, 'twitch'],
  [/(^|\.)(youtube\.com|youtu\.be)$/, 'youtube'],
  [/(^|\.)(instagram\.com|instagr\.am)$/, 'instagram'],
  [/(^|\.)kick\.com$/, 'kick'],
]

/** The platform a link belongs to, from its host; `other` when unknown. */
export function detectPlatform(raw: string): Platform {
  const url = parseHttpUrl(raw)
  if (!url) return 'other'
  const host = url.hostname.toLowerCase()
  for (const [re, platform] of HOSTS) if (re.test(host)) return platform
  return 'other'
}
