import { useEffect, useRef, useState } from 'preact/hooks'
import type { CampaignStats, LeaderboardEntry, OvasabiClient } from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { LineChart } from './Chart.js'
import { type Column, DataTable, LoadView, Stat } from './ui.js'

const POLL_MS = 3000
const WINDOW_MS = 10 * 60_000

interface Sample {
  t: number
  active: number | undefined
  events: number
}

/** A stat that may be a counter or an event count, under the names the modules use. */
function count(s: CampaignStats, names: string[]): number {
  for (const n of names) {
    const v = s.counters[n] ?? s.events[n]
    if (typeof v === 'number') return v
  }
  return 0
}

/**
 * Active users, when the stats endpoint reports them. It does not yet (it serves stored counters;
 * presence lives in the gateway). The console does not open a socket to count them itself: the
 * gateway would count that socket as a person on the campaign, and every visitor would see one
 * more. Until stats carry `active_users`, the dashboard says so and charts events per minute.
 */
function activeUsers(s: CampaignStats): number | undefined {
  const v = (s as unknown as { active_users?: unknown }).active_users ?? s.counters.active_users
  return typeof v === 'number' ? v : undefined
}

/**
 * The events table's columns: an action's name and how many times it ran. The panel's heading
 * says what they are, so their own headings are for screen readers only.
 */
const EVENT_COLUMNS: readonly Column<[string, number]>[] = [
  { heading: 'Action', hideHeading: true, cell: ([action]) => <code>{action}</code> },
  { heading: 'Events', hideHeading: true, cell: ([, n]) => n, class: 'num' },
]

/** Events per minute between consecutive polls. */
function rates(ss: Sample[]): Array<{ t: number; v: number }> {
  const out: Array<{ t: number; v: number }> = []
  for (let i = 1; i < ss.length; i++) {
    const a = ss[i - 1]!
    const b = ss[i]!
    out.push({ t: b.t, v: Math.max(0, Math.round(((b.events - a.events) * 60_000) / (b.t - a.t))) })
  }
  return out
}

/** Live numbers, polled: the stats endpoint is cheap (counters, never scans). */
export function Dashboard({
  client,
  slug,
  referral,
}: {
  client: OvasabiClient
  slug: string
  /** The campaign has the `referral` feature (else there is no leaderboard to ask for). */
  referral: boolean
}) {
  const [stats, setStats] = useState<CampaignStats>()
  const [error, setError] = useState<string>()
  const samples = useRef<Sample[]>([])
  const [, force] = useState(0)

  useEffect(() => {
    samples.current = []
    let stop = false
    const tick = async () => {
      try {
        const s = await client.campaigns.stats(slug)
        if (stop) return
        const now = Date.now()
        samples.current = [
          ...samples.current,
          { t: now, active: activeUsers(s), events: s.events_total },
        ].filter((x) => x.t > now - WINDOW_MS)
        setStats(s)
        setError(undefined)
        force((n) => n + 1)
      } catch (err) {
        if (!stop) setError(errorText(err))
      }
    }
    void tick()
    const timer = setInterval(tick, POLL_MS)
    return () => {
      stop = true
      clearInterval(timer)
    }
  }, [client, slug])

  // The leaderboard answers 403 FEATURE_DISABLED on a campaign without `referral`: it is asked for
  // only when the campaign has it (`null`: it does not).
  const [leaders] = useLoad(
    async () => (referral ? client.referrals.leaderboard(slug, 10) : null),
    [client, slug, referral],
  )
  const ss = samples.current
  const now = ss[ss.length - 1]
  const minuteAgo = ss.find((x) => x.t >= (now?.t ?? 0) - 60_000)
  const perMinute =
    now && minuteAgo && now.t > minuteAgo.t
      ? Math.round(((now.events - minuteAgo.events) * 60_000) / (now.t - minuteAgo.t))
      : 0

  return (
    <div class="dashboard" data-testid="dashboard">
      {error && (
        <p class="notice" data-tone="danger" role="alert">
          {error}
        </p>
      )}
      <div class="stats">
        <Stat label="Active now" value={(stats && activeUsers(stats)) ?? '–'} testid="dash-active" />
        <Stat label="Events / min" value={stats ? perMinute : '–'} testid="dash-epm" />
        <Stat
          label="Leads"
          value={stats ? count(stats, ['leads', 'quote.submit']) : '–'}
          testid="dash-leads"
        />
        <Stat
          label="Registrations"
          value={stats ? count(stats, ['registrations', 'users', 'user.register']) : '–'}
          testid="dash-registrations"
        />
        <Stat
          label="Referrals"
          value={stats ? count(stats, ['referrals', 'referrals_qualified', 'referral.apply']) : '–'}
          testid="dash-referrals"
        />
        <Stat label="Events total" value={stats?.events_total ?? '–'} />
      </div>
      <div class="grid-2">
        <div class="panel">
          {ss.some((x) => x.active !== undefined) ? (
            <>
              <h2>Active users</h2>
              <LineChart points={ss.map((x) => ({ t: x.t, v: x.active ?? 0 }))} label="Active users" />
            </>
          ) : (
            <>
              <h2>Events per minute</h2>
              <LineChart points={rates(ss)} label="Events per minute" />
              <p class="muted small" data-testid="dash-active-note">
                Active users are counted by the real-time gateway and are not in the stats endpoint yet; the
                campaign page shows the live count.
              </p>
            </>
          )}
        </div>
        <div class="panel">
          <h2>Top referrers</h2>
          <LoadView value={leaders} what="leaderboard">
            {(d) => {
              if (!d)
                return (
                  <p class="muted" data-testid="dash-referral-off">
                    The referral feature is off for this campaign.
                  </p>
                )
              const rows: LeaderboardEntry[] = d.entries
              return rows.length === 0 ? (
                <p class="muted">No referrals yet.</p>
              ) : (
                <ol class="leaders">
                  {rows.map((r) => (
                    <li key={r.rank}>
                      <span dir="auto">{r.display_name}</span>
                      <strong>{r.referrals}</strong>
                    </li>
                  ))}
                </ol>
              )
            }}
          </LoadView>
        </div>
      </div>
      {stats && Object.keys(stats.events).length > 0 && (
        <div class="panel">
          <h2>Events by action</h2>
          <DataTable
            label="Events by action"
            columns={EVENT_COLUMNS}
            rows={Object.entries(stats.events).sort((a, b) => b[1] - a[1])}
            rowKey={([action]) => action}
            wrapClass="fit"
          />
          {stats.event_names > Object.keys(stats.events).length && (
            <p class="muted" data-testid="events-not-listed">
              The {Object.keys(stats.events).length} most counted of {stats.event_names} event names.
            </p>
          )}
        </div>
      )}
    </div>
  )
}
