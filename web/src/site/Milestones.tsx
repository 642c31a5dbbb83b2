import { useEffect, useRef, useState } from 'preact/hooks'
import type { CampaignEventFrame, RealtimeConnection } from '../../../client/index.js'
import { type FormNotice, noticeText } from './forms.js'
import { type Params, useI18n } from './i18n.js'
import { useCampaignEvent } from './live.js'

interface Item {
  key: string
  /** Worded when shown, so a language switch rewords the milestones already in the feed. */
  text: FormNotice
  /** When (ms since the epoch): written when shown, in the shown language's way. */
  at: number
  /** Not a milestone: where the page lost events (`resync_required`), so some may be missing. */
  gap?: boolean
}

/**
 * "Ada now has 5 referrals", in the page's language: one of its strings filled with the name and the
 * milestone reached. The payload's `message` (the server's English) only when it lacks either.
 */
export function milestoneText(f: CampaignEventFrame): FormNotice {
  const p = (f.payload ?? {}) as Record<string, unknown>
  const named = [p.user_display_name, p.name, p.display_name].find((v) => typeof v === 'string' && v)
  const count = [p.threshold, p.count, p.referrals, p.milestone].find((v) => typeof v === 'number')
  if (typeof p.message === 'string' && p.message && (named === undefined || count === undefined))
    return { text: p.message }
  const params: Params = {}
  if (named !== undefined) params.name = named as string
  if (count !== undefined) params.count = count as number
  return {
    key: count === undefined ? 'feed.milestone.more' : 'feed.milestone',
    params,
    ...(named === undefined ? { words: { name: 'feed.someone' as const } } : {}),
  }
}

/** A frame's time, or now when it has none (or one that is not a time). */
function timeOf(timestamp: unknown): number {
  const at =
    typeof timestamp === 'string' || typeof timestamp === 'number' ? new Date(timestamp).getTime() : NaN
  return Number.isNaN(at) ? Date.now() : at
}

const timeFormats = new Map<string, Intl.DateTimeFormat>()

/** Hours and minutes as the shown language writes them (the visitor's own time zone). */
function timeFormat(lang: string): Intl.DateTimeFormat {
  let f = timeFormats.get(lang)
  if (!f) {
    const style = { hour: '2-digit', minute: '2-digit' } as const
    try {
      f = new Intl.DateTimeFormat(lang, style)
    } catch {
      // A tag this browser cannot use: its own default, still a readable time.
      f = new Intl.DateTimeFormat(undefined, style)
    }
    timeFormats.set(lang, f)
  }
  return f
}

/**
 * The live milestone feed plus toasts. Text is always rendered as text (Preact escapes it).
 * Milestones exist only as events: after `resync_required` (`resyncs` grew) the ones lost cannot be
 * read back, so the feed says where it may be missing some rather than look complete.
 */
export function Milestones({
  connection,
  resyncs = 0,
}: {
  connection: RealtimeConnection | null
  resyncs?: number
}) {
  const { t, shown } = useI18n()
  const clock = timeFormat(shown)
  const time = (at: number) => (
    <time class="feed-time" dateTime={new Date(at).toISOString()}>
      {clock.format(at)}
    </time>
  )
  const [feed, setFeed] = useState<Item[]>([])
  const [toasts, setToasts] = useState<Item[]>([])
  const seq = useRef(0)

  useEffect(() => {
    if (resyncs === 0) return
    const at = Date.now()
    // One mark per gap: two resyncs with no milestone between them are one stretch of loss.
    setFeed((xs) =>
      xs[0]?.gap
        ? xs
        : [{ key: `gap-${seq.current++}`, text: { text: '' }, at, gap: true }, ...xs].slice(0, 8),
    )
  }, [resyncs])

  useCampaignEvent(connection, 'referral.milestone', (f) => {
    const item = {
      key: `${f.id ?? ''}-${seq.current++}`,
      text: milestoneText(f),
      at: timeOf(f.timestamp),
    }
    setFeed((xs) => [item, ...xs].slice(0, 8))
    setToasts((xs) => [...xs, item].slice(-3))
    setTimeout(() => setToasts((xs) => xs.filter((x) => x.key !== item.key)), 6000)
  })

  return (
    <>
      <ul class="feed" data-testid="milestone-feed" aria-live="polite">
        {feed.length === 0 && <li class="feed-empty">{t('feed.empty')}</li>}
        {feed.map((i) =>
          i.gap ? (
            <li key={i.key} class="feed-item feed-gap" data-testid="feed-gap">
              <span class="feed-text">{t('feed.gap')}</span>
              {time(i.at)}
            </li>
          ) : (
            <li key={i.key} class="feed-item">
              <span class="feed-dot" aria-hidden="true" />
              <span class="feed-text">{noticeText(i.text, t)}</span>
              {time(i.at)}
            </li>
          ),
        )}
      </ul>
      <div class="toasts" role="status" aria-live="polite">
        {toasts.map((i) => (
          <div key={i.key} class="toast" data-testid="toast">
            <span class="toast-icon" aria-hidden="true">
              ★
            </span>
            <span>{noticeText(i.text, t)}</span>
          </div>
        ))}
      </div>
    </>
  )
}
