/** The forms one Twitch, Kick, Facebook or TikTok stream is linked by, folded into one duplicate key. */

/** A clip slug, video id or channel name as the platforms write them (ASCII word characters and `-`). */
const SLUG = /^[\w-]+$/
const DIGITS = /^\d+$/

/**
 * The one key of a stream a platform serves under several paths, from a key on the main site
 * (`SAME_SITE` in stream.links.ts); undefined when `key` is none of those forms (a port makes it none). A query that
 * only says where the page was opened from (a start time, the list it was picked from) goes:
 * - a Twitch clip (`clips.twitch.tv/SLUG`, `clips.twitch.tv/embed?clip=SLUG`,
 *   `twitch.tv/NAME/clip/SLUG`, `m.twitch.tv/clip/SLUG`) is `clips.twitch.tv/SLUG`: the slug alone
 *   names it, whatever channel the link went through; the slug keeps its case;
 * - a Twitch past broadcast (`twitch.tv/videos/ID`, `twitch.tv/NAME/v/ID`,
 *   `player.twitch.tv/?video=vID`) is `twitch.tv/videos/ID`, and the embed player of a channel
 *   (`player.twitch.tv/?channel=NAME`) is the channel `twitch.tv/NAME`;
 * - a Kick video (`kick.com/video/ID`, `kick.com/NAME/videos/ID`) is `kick.com/video/ID`, a Kick
 *   clip (`kick.com/NAME?clip=ID`, `kick.com/NAME/clips/ID`) `kick.com/NAME/clips/ID`, and the
 *   embed player (`player.kick.com/NAME`) the channel `kick.com/NAME`;
 * - a Facebook video (`facebook.com/watch/?v=ID`, `/watch/live/?v=ID`, `/video.php?v=ID`,
 *   `/PAGE/videos/ID`, `/PAGE/videos/TITLE/ID`, the embed `plugins/video.php?href=LINK`) is
 *   `facebook.com/watch?v=ID`;
 * - a TikTok account's pages (`tiktok.com/@NAME/live`, `/@NAME/video/ID`) keep no query.
 * `normalizeLink` gives the key of the link an embed plays (`href`).
 * Short links (`fb.watch/…`, `facebook.com/share/…`, `vm.tiktok.com/…`) name their target only
 * behind a redirect, which is not followed: they stay links of their own.
 */
export function sameStreamForm(
  key: string,
  normalizeLink: (raw: string) => string | undefined,
): string | undefined {
  const queryAt = key.indexOf('?')
  const beforeQuery = queryAt < 0 ? key : key.slice(0, queryAt)
  const slash = beforeQuery.indexOf('/')
  const host = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash)
  const s = slash < 0 ? [] : beforeQuery.slice(slash + 1).split('/')
  const param = (name: string) => new URLSearchParams(queryAt < 0 ? '' : key.slice(queryAt + 1)).get(name)
  const id = (value: string | null | undefined, re = SLUG) => (value && re.test(value) ? value : undefined)
  const [a, b, c] = s
  switch (host) {
    case 'clips.twitch.tv': {
      const slug = s.length !== 1 ? undefined : a === 'embed' ? id(param('clip')) : id(a)
      return slug && `clips.twitch.tv/${slug}`
    }
    case 'twitch.tv': {
      const slug = s.length === 3 && b === 'clip' ? id(c) : s.length === 2 && a === 'clip' ? id(b) : undefined
      if (slug) return `clips.twitch.tv/${slug}`
      const video =
        s.length === 2 && a === 'videos'
          ? id(b, DIGITS)
          : s.length === 3 && b === 'v'
            ? id(c, DIGITS)
            : undefined
      return video && `twitch.tv/videos/${video}`
    }
    case 'player.twitch.tv': {
      if (s.length > 0) return undefined
      const video = /^v?(\d+)$/.exec(param('video') ?? '')?.[1]
      if (video) return `twitch.tv/videos/${video}`
      const channel = id(param('channel'), /^\w+$/)
      return channel && `twitch.tv/${channel}`
    }
    case 'kick.com': {
      const video =
        s.length === 2 && a === 'video' ? id(b) : s.length === 3 && b === 'videos' ? id(c) : undefined
      if (video) return `kick.com/video/${video}`
      const clip = s.length === 3 && b === 'clips' ? id(c) : s.length === 1 ? id(param('clip')) : undefined
      return clip && id(a) && `kick.com/${a}/clips/${clip}`
    }
    case 'player.kick.com':
      return s.length === 1 && id(a) ? `kick.com/${a}` : undefined
    case 'facebook.com': {
      const path = s.join('/')
      const video =
        path === 'watch' || path === 'watch/live' || path === 'video.php'
          ? id(param('v'), DIGITS)
          : (s.length === 3 || s.length === 4) && b === 'videos'
            ? id(s.at(-1), DIGITS)
            : undefined
      if (video) return `facebook.com/watch?v=${video}`
      if (path !== 'plugins/video.php') return undefined
      const href = normalizeLink(param('href') ?? '')
      return href?.startsWith('facebook.com/watch?v=') ? href : undefined
    }
    case 'tiktok.com':
      return queryAt >= 0 &&
        a?.startsWith('@') &&
        (s.length === 1 ||
          (b === 'live' && s.length === 2) ||
          (b === 'video' && s.length === 3 && id(c, DIGITS)))
        ? beforeQuery
        : undefined
    default:
      return undefined
  }
}
