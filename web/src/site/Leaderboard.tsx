import { useI18n } from './i18n.js'
import type { BoardEntry } from './live.js'

/** Top referrers, live from `stats_update`. Names are rendered as text (Preact escapes them). */
export function Leaderboard({ entries }: { entries: BoardEntry[] | null }) {
  const { t } = useI18n()
  if (entries === null) return <p class="feed-empty">{t('board.waiting')}</p>
  if (entries.length === 0) return <p class="feed-empty">{t('board.empty')}</p>
  return (
    <ol class="board" data-testid="leaderboard" aria-live="polite">
      {entries.map((e) => (
        <li key={`${e.rank}-${e.display_name}`} class="board-row">
          <span class="board-rank">{e.rank}</span>
          <span class="board-name">{e.display_name}</span>
          <span class="board-count">{e.referrals}</span>
        </li>
      ))}
    </ol>
  )
}
