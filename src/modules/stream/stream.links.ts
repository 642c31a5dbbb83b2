/** Link handling for the stream registry: validation, duplicate keys and platform detection. */

import { sameStreamForm } from './stream.link-forms.js'

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

/**
 * A platform's own tracking parameters, which a link copied from its address bar carries
 * (`watch?v=…&ab_channel=Name`, `twitch.tv/name?sr=a`); elsewhere the same names may matter.
 */
const SITE_TRACKING: Partial<Record<string, readonly string[]>> = {
  'youtube.com': ['ab_channel', 'pp'],
  'twitch.tv': ['sr', 'tt_medium', 'tt_content', 'referrer'],
  // What a `facebook.com/share/…` link carries once it has been followed to the page.
  'facebook.com': ['rdid', 'share_url'],
}

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

/** Unicode's default-ignorable code points: zero-width spaces and joiners, soft hyphens, word joiners, variation selectors… */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u

/**
 * Whether `raw` holds a character that shows as nothing (`INVISIBLE`), as typed or percent-encoded
 * (`%E2%80%8B`, as a client that ran the link through a URL parser sends it). Such a link is
 * refused rather than folded into the key of the one it looks like: it looks listed to every
 * operator but is another channel's path (`twitch.tv/name%E2%80%8B`), which the wall cannot open,
 * and storing it cleaned would change what the caller sent behind their back. Refused, the client
 * is told, and the link pasted again clean is found as the duplicate it is.
 */
export function hasInvisibleCharacters(raw: string): boolean {
  if (INVISIBLE.test(raw)) return true
  const decoded = raw.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      return run
    }
  })
  return INVISIBLE.test(decoded)
}

/**
 * The duplicate-detection key of a link: no scheme, lower-case host without `www.` (or the
 * trailing dot of a fully qualified name), a platform's main site for its mobile one, no trailing
 * slash, no fragment, tracking parameters removed and the rest sorted, and on the platforms whose
 * channel names ignore case (see `channelSpan`) the name in lower case. `http://www.twitch.tv/X/`
 * and `https://twitch.tv/x?utm_source=discord` have the same key. The link itself is kept as
 * entered; only the key is folded.
 */
export function normalizeLink(raw: string): string | undefined {
  const url = parseHttpUrl(raw)
  if (!url) return undefined
  const host = url.hostname
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^www\./, '')
  const site = Object.hasOwn(SAME_SITE, host) ? SAME_SITE[host]! : host
  const tracking = (key: string) =>
    key.startsWith('utm_') || TRACKING.has(key) || (SITE_TRACKING[site]?.includes(key) ?? false)
  const port = url.port ? `:${url.port}` : ''
  const path = sameEscapes(url.pathname).replace(/\/+$/, '')
  const params = [...url.searchParams]
    .filter(([k]) => !tracking(k.toLowerCase()))
    .sort(([a, av], [b, bv]) => (a === b ? av.localeCompare(bv) : a.localeCompare(b)))
  const query = params.length ? `?${new URLSearchParams(params).toString()}` : ''
  return canonicalLinkKey(`${site}${port}${path}${query}`)
}

/**
 * A path with its escapes in one form (RFC 3986 §6.2.2): an escaped letter, digit or `-._~` is
 * the character itself (`/%66oo` is `/foo`), and any other escape has upper-case hex digits
 * (`%c3%a9` is `%C3%A9`). The query needs none of it: it is read and written again as parameters.
 */
function sameEscapes(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16))
    return /^[A-Za-z0-9._~-]$/.test(char) ? char : `%${hex.toUpperCase()}`
  })
}

/**
 * A platform's mobile and regional sites, which serve the same paths as its main one: a link
 * shared from a phone (`m.twitch.tv/foo`) is the stream `twitch.tv/foo` already listed.
 */
const SAME_SITE: Record<string, string> = {
  'm.twitch.tv': 'twitch.tv',
  'm.youtube.com': 'youtube.com',
  'm.facebook.com': 'facebook.com',
  'mobile.facebook.com': 'facebook.com',
  'web.facebook.com': 'facebook.com',
  'touch.facebook.com': 'facebook.com',
  'm.tiktok.com': 'tiktok.com',
  'fb.com': 'facebook.com',
}

/**
 * The keys a link with key `key` was stored under before mobile sites were folded into their
 * main one (`m.twitch.tv/foo` for `twitch.tv/foo`) and, for a YouTube video, before its other
 * forms were (`youtu.be/ID`, `youtube.com/shorts/ID`…, see `youtubeVideoId`), so those rows are
 * still found. Only forms without a query can be listed; rows stored under any older key were
 * re-keyed by migration 033, so this covers what a node of the version before still writes while
 * a deployment is upgraded.
 */
export function olderLinkKeys(key: string): string[] {
  const id = youtubeVideoId(key)
  const forms =
    id !== undefined && key === `youtube.com/watch?v=${id}`
      ? [...YOUTUBE_VIDEO_PATHS].flatMap(([site, paths]) => paths.map((p) => `${site}/${p}${id}`))
      : []
  return [...mobileKeys(key), ...forms.flatMap((form) => [form, ...mobileKeys(form)])]
}

/** `key` on each of its host's mobile sites (`SAME_SITE`). */
function mobileKeys(key: string): string[] {
  const slash = key.search(/[/?]|$/)
  const host = key.slice(0, slash)
  return Object.keys(SAME_SITE)
    .filter((alias) => SAME_SITE[alias] === host)
    .map((alias) => alias + key.slice(slash))
}

/**
 * Where YouTube serves a video by its id in the path besides `/watch?v=ID`: the share link
 * (`youtu.be/ID`), a live stream's and a short's own pages and the embed player (also on the
 * privacy-enhanced host). Each shows the same video, so each has the key of `/watch?v=ID`.
 */
const YOUTUBE_VIDEO_PATHS = new Map<string, readonly string[]>([
  ['youtu.be', ['']],
  ['youtube.com', ['live/', 'shorts/', 'embed/']],
  ['youtube-nocookie.com', ['embed/']],
])

/** What the embed player takes in place of an id: a channel's current live stream, a playlist. */
const NOT_VIDEO_IDS = new Set(['live_stream', 'videoseries'])

/**
 * The id of the YouTube video a key (on the main site, see `SAME_SITE`) shows, in its case, in any
 * of its forms: `youtube.com/watch?v=ID` whatever else the query holds (a start time `t`, or the
 * playlist `list`/`index` it was opened from: a watch link with `v` plays that video, so the
 * playlist only routes to it, as `youtube.com/playlist?list=…` alone does not), or a path in
 * `YOUTUBE_VIDEO_PATHS` (`youtu.be/ID?t=42`). Undefined for anything else, ports included.
 */
function youtubeVideoId(key: string): string | undefined {
  const queryAt = key.indexOf('?')
  const path = queryAt < 0 ? key : key.slice(0, queryAt)
  const slash = path.indexOf('/')
  if (slash < 0) return undefined
  let id: string | null
  if (path === 'youtube.com/watch')
    id = new URLSearchParams(queryAt < 0 ? '' : key.slice(queryAt + 1)).get('v')
  else {
    const rest = path.slice(slash + 1)
    const cut = rest.lastIndexOf('/') + 1
    if (!YOUTUBE_VIDEO_PATHS.get(path.slice(0, slash))?.includes(rest.slice(0, cut))) return undefined
    id = rest.slice(cut)
  }
  return id && /^[\w-]+$/.test(id) && !NOT_VIDEO_IDS.has(id) ? id : undefined
}

/** Hosts (after `www.`) whose first path segment is an account, channel or page name. */
const NAMED_BY_FIRST_SEGMENT = new Set([
  'twitch.tv',
  'm.twitch.tv',
  'kick.com',
  'instagram.com',
  'facebook.com',
  'm.facebook.com',
  'mobile.facebook.com',
  'web.facebook.com',
  'touch.facebook.com',
  'fb.com',
])
const YOUTUBE = new Set(['youtube.com', 'm.youtube.com'])
const TIKTOK = new Set(['tiktok.com', 'm.tiktok.com'])

/**
 * Where the channel name is in a link key (`[start, end)`), on the platforms where names ignore
 * case: Twitch and Kick channels, Instagram and Facebook accounts and pages (the first path
 * segment), YouTube handles (`/@name`) and custom names (`/c/name`, `/user/name`), TikTok
 * accounts (`/@name`). Everything else keeps its case, as it may matter there: YouTube video and
 * channel ids, Twitch clip slugs (`clips.twitch.tv/Slug`, `/name/clip/Slug`), short links
 * (`youtu.be`, `fb.watch`, `vm.tiktok.com`), query values, and every other site's paths.
 * Keys are ASCII (the URL parser percent-encodes the rest), so lower-casing keeps their length.
 */
export function channelSpan(key: string): [number, number] | undefined {
  const slash = key.indexOf('/')
  if (slash < 0) return undefined
  const host = key.slice(0, slash)
  if (host.includes('?')) return undefined
  const queryAt = key.indexOf('?', slash)
  const segments = key.slice(slash + 1, queryAt < 0 ? key.length : queryAt).split('/')
  const span = (index: number): [number, number] | undefined => {
    const segment = segments[index]
    if (!segment) return undefined
    const start = slash + 1 + segments.slice(0, index).reduce((n, s) => n + s.length + 1, 0)
    return [start, start + segment.length]
  }
  const first = segments[0] ?? ''
  if (NAMED_BY_FIRST_SEGMENT.has(host)) return span(0)
  if (YOUTUBE.has(host)) {
    if (first.startsWith('@')) return span(0)
    if (first === 'c' || first === 'user') return span(1)
  }
  if (TIKTOK.has(host) && first.startsWith('@')) return span(0)
  return undefined
}

/**
 * A key on the main site (`SAME_SITE`) with its channel name (`channelSpan`) in lower case, a
 * YouTube video in any of its forms as `youtube.com/watch?v=ID` (`youtubeVideoId`), and a Twitch
 * clip or past broadcast, a Kick video or clip, a Facebook video or a TikTok page in one form
 * (`sameStreamForm`): keys stored before mobile sites, names and those forms were folded become
 * today's (migration 033 re-keyed the rows stored before).
 */
export function canonicalLinkKey(stored: string): string {
  const slash = stored.search(/[/?]|$/)
  const host = stored.slice(0, slash)
  const onMain = Object.hasOwn(SAME_SITE, host) ? SAME_SITE[host] + stored.slice(slash) : stored
  const video = youtubeVideoId(onMain)
  if (video !== undefined) return `youtube.com/watch?v=${video}`
  const key = sameStreamForm(onMain, normalizeLink) ?? onMain
  const span = channelSpan(key)
  if (!span) return key
  const [start, end] = span
  return key.slice(0, start) + key.slice(start, end).toLowerCase() + key.slice(end)
}

const HOSTS: Array<[RegExp, Platform]> = [
  [/(^|\.)tiktok\.com$/, 'tiktok'],
  [/(^|\.)(facebook\.com|fb\.com|fb\.watch)$/, 'facebook'],
  [/(^|\.)twitch\.tv$/, 'twitch'],
  [/(^|\.)(youtube\.com|youtu\.be|youtube-nocookie\.com)$/, 'youtube'],
  [/(^|\.)(instagram\.com|instagr\.am)$/, 'instagram'],
  [/(^|\.)kick\.com$/, 'kick'],
]

/** The platform a link belongs to, from its host; `other` when unknown. */
export function detectPlatform(raw: string): Platform {
  const url = parseHttpUrl(raw)
  if (!url) return 'other'
  const host = url.hostname.toLowerCase().replace(/\.$/, '')
  for (const [re, platform] of HOSTS) if (re.test(host)) return platform
  return 'other'
}
