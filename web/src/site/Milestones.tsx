import { useEffect, useRef, useState } from 'preact/hooks'
import type { CampaignEventFrame, RealtimeConnection } from '../../../client/index.js'
import { useI18n } from './i18n.js'
import { useCampaignEvent } from './live.js'

interface Item {
  key: string
  text: string
  at: string
  /** Not a milestone: where the page lost events (`resync_required`), so some may be missing. */
  gap?: boolean
}

/** "Ada now has 5 referrals": from the payload's message, or built from its name and count. */
export function milestoneText(f: CampaignEventFrame): string {
  const p = (f.payload ?? {}) as Record<string, unknown>
  if (typeof p.message === 'string' && p.message) return p.message
  const name =
    typeof p.name === 'string' ? p.name : typeof p.display_name === 'string' ? p.display_name : 'Someone'
  const count = p.count ?? p.referrals ?? p.threshold ?? p.milestone
  return `${name} now has ${String(count ?? 'more')} referrals`
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
  const { t } = useI18n()
  const [feed, setFeed] = useState<Item[]>([])
  const [toasts, setToasts] = useState<Item[]>([])
  const seq = useRef(0)

  useEffect(() => {
    if (resyncs === 0) return
    const at = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    // One mark per gap: two resyncs with no milestone between them are one stretch of loss.
    setFeed((xs) =>
      xs[0]?.gap ? xs : [{ key: `gap-${seq.current++}`, text: '', at, gap: true }, ...xs].slice(0, 8),
    )
  }, [resyncs])

  useCampaignEvent(connection, 'referral.milestone', (f) => {
    const item = {
      key: `${f.id ?? ''}-${seq.current++}`,
      text: milestoneText(f),
      at: new Date(f.timestamp ?? Date.now()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
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
              <time class="feed-time">{i.at}</time>
            </li>
          ) : (
            <li key={i.key} class="feed-item">
              <span class="feed-dot" aria-hidden="true" />
              <span class="feed-text">{i.text}</span>
              <time class="feed-time">{i.at}</time>
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
            <span>{i.text}</span>
          </div>
        ))}
      </div>
    </>
  )
}
