import type { ComponentChildren } from 'preact'
import { useEffect, useMemo, useState } from 'preact/hooks'
import { OvasabiError, type PublicCampaign } from '../../../client/index.js'
import { Logo } from '../shared/Logo.js'
import {
  credentialRefused,
  ensureSession,
  loadUser,
  memberOf,
  pageClient,
  renewSession,
  sessionUserId,
  settleConfirming,
  type StoredUser,
} from '../shared/session.js'
import { currentCampaign } from './campaign.js'
import { CursorLayer } from './Cursors.js'
import { I18nProvider, useI18n } from './i18n.js'
import { statusKey, type TextKey } from './strings.js'
import { JoinForm } from './JoinForm.js'
import { useLive, type Live } from './live.js'
import { MediaUpload } from './MediaUpload.js'
import { Leaderboard } from './Leaderboard.js'
import { Milestones } from './Milestones.js'
import { QuoteForm } from './QuoteForm.js'
import { StreamPanel } from './StreamPanel.js'
import { VerifyNotice } from './VerifyNotice.js'

export function App() {
  const client = useMemo(() => pageClient(), [])
  const campaign = useMemo(() => currentCampaign(), [])
  return (
    <I18nProvider client={client} campaign={campaign}>
      <Site client={client} campaign={campaign} />
    </I18nProvider>
  )
}

type Loaded =
  | { kind: 'loading' }
  | { kind: 'ready'; info: PublicCampaign }
  /** No campaign by that slug: the page shows only that, no features and no socket. */
  | { kind: 'missing' }
  /** Not read (the server or the network failed): said in the page's words, not the error's. */
  | { kind: 'error' }

function Site({ client, campaign }: { client: ReturnType<typeof pageClient>; campaign: string }) {
  const { t, shown, lang, languages, setLang } = useI18n()
  const [user, setUser] = useState<StoredUser | undefined>(() => loadUser())
  const [loaded, setLoaded] = useState<Loaded>({ kind: 'loading' })

  useEffect(() => {
    let stop = false
    let timer: ReturnType<typeof setTimeout> | undefined
    let failures = 0
    const attempt = async () => {
      try {
        await ensureSession(client)
        const load = () => client.campaigns.get(campaign) as Promise<PublicCampaign>
        const info = await load().catch(async (err) => {
          if (!credentialRefused(err)) throw err
          await renewSession(client)
          return load()
        })
        if (!loadUser()) setUser(undefined)
        if (!stop) setLoaded({ kind: 'ready', info })
      } catch (err) {
        if (stop) return
        if (err instanceof OvasabiError && err.code === 'CAMPAIGN_NOT_FOUND')
          return setLoaded({ kind: 'missing' })
        setLoaded({ kind: 'error' })
        // A refusal that passes (429 with its Retry-After: many visitors behind one address; a
        // server restarting; the network back) is asked again, so the page loads by itself.
        const wait = retryIn(err, failures++)
        if (wait !== undefined) timer = setTimeout(attempt, wait)
      }
    }
    void attempt()
    return () => {
      stop = true
      clearTimeout(timer)
    }
  }, [client, campaign])

  const info = loaded.kind === 'ready' ? loaded.info : undefined
  // The stored person when the session is theirs; a guest's after their token expired (see
  // `ensureSession`): the page still shows their link, but acts as the guest it now is.
  const own = user && sessionUserId(client) === user.id ? user.id : undefined
  const live = useLive(
    client,
    campaign,
    loaded.kind === 'ready',
    own,
    info?.metadata.features.includes('referral') ?? false,
  )
  // Until the campaign is read every feature shows (the usual case); once read, only its own.
  const has = (f: string) => (info ? info.metadata.features.includes(f) : loaded.kind !== 'missing')
  const title = info?.title ?? 'Ovasabi'
  /**
   * As read at load, then as the socket says it (a scheduled start passed, an edit moved it), or
   * as the server said when it closed the socket for it since.
   */
  const status = live.closed ?? live.phase?.status ?? info?.status
  const startsAt = live.phase ? live.phase.starts_at : info?.metadata.scheduling.start
  /** The waiting room: the campaign has not started, its forms take nothing until it does. */
  const waiting = status === 'scheduled'
  useEffect(() => {
    document.title = t('page.title', { title })
  }, [title, t])
  // Nothing read (the server failed, or there is no such campaign), so nothing says what language
  // the visitor wants: their browser's, when the page has it, unless they already chose
  // (translations cached on an earlier visit show at once).
  const failed = loaded.kind === 'error' || loaded.kind === 'missing'
  useEffect(() => {
    if (!failed || lang !== 'en') return
    const preferred = browserLanguage(languages.map((l) => l.code))
    // Not remembered: the browser's language is no choice of the visitor's.
    if (preferred && preferred !== 'en') setLang(preferred, false)
  }, [failed])

  return (
    <div class="site">
      <a class="skip-link" href="#main">
        {t('page.skip')}
      </a>
      <header class="topbar">
        <a class="brand" href="/" aria-label={t('page.home', { title })}>
          <Logo />
          <span>{title}</span>
        </a>
        <nav class="topnav" aria-label={t('page.nav')}>
          {has('quote') && <a href="#quote">{t('nav.quote')}</a>}
          {has('registration') && <a href="#join">{t('nav.join')}</a>}
        </nav>
        <div class="topbar-right">
          {/* Without `presence` the server sends no counts: a pill would freeze on its first. */}
          {has('presence') && <LivePill live={live} />}
          <LanguageSwitcher />
        </div>
      </header>

      {loaded.kind === 'missing' ? (
        <main id="main" class="page">
          <section class="hero hero-missing">
            <p class="notice" role="alert" data-testid="campaign-missing">
              {t('campaign.missing')} (<code>{campaign}</code>)
            </p>
          </section>
        </main>
      ) : (
        <main id="main" class="page">
          {has('presence') && <CursorLayer live={live} />}
          <section class="hero">
            <div class="hero-glow" aria-hidden="true" />
            <p class="eyebrow">{t('hero.eyebrow')}</p>
            <h1>{t('hero.title')}</h1>
            <p class="lead">{info?.description || t('hero.lead')}</p>
            <div class="hero-cta">
              {has('registration') && (
                <a class="btn btn-primary" href="#join">
                  {t('hero.cta.join')}
                </a>
              )}
              {has('quote') && (
                <a class="btn btn-ghost on-dark" href="#quote">
                  {t('hero.cta.quote')}
                </a>
              )}
            </div>
            <p class="hero-hint">{t('hero.hint')}</p>
            <VerifyNotice
              client={client}
              // This browser's person may be the one who waited: no "send the link again" then.
              onConfirmed={() => void settleConfirming(client).then((u) => u && setUser(u))}
            />
            {loaded.kind === 'error' && (
              <p class="notice" data-tone="danger" role="alert" data-testid="campaign-error">
                {t('campaign.loadFailed')}
              </p>
            )}
            {status && status !== 'active' && (
              <p class="notice" role="status" data-testid="campaign-status" data-status={status}>
                {waiting
                  ? opensText(startsAt, shown, t)
                  : t('campaign.notice', { status: t(statusKey(status)) })}
              </p>
            )}
          </section>

          <section class="features" aria-labelledby="features-title">
            <h2 id="features-title">{t('features.title')}</h2>
            <div class="feature-grid">
              <Feature icon="◎" title={t('features.presence.title')} body={t('features.presence.body')} />
              <Feature icon="✦" title={t('features.leads.title')} body={t('features.leads.body')} />
              <Feature icon="↗" title={t('features.referrals.title')} body={t('features.referrals.body')} />
            </div>
          </section>

          {/* Disabled while waiting: every control of the forms below (`display: contents`, no box). */}
          <fieldset class="gate" disabled={waiting}>
            <section class="panels">
              {has('registration') && (
                <Card name="join" anchor title={t('join.title')} lead={t('join.lead')}>
                  <JoinForm
                    client={client}
                    campaign={campaign}
                    user={memberOf(user, campaign)}
                    onJoined={setUser}
                    onLeft={() => setUser(undefined)}
                  />
                </Card>
              )}
              {has('quote') && (
                <Card name="quote" anchor title={t('quote.title')} lead={t('quote.lead')}>
                  <QuoteForm
                    client={client}
                    campaign={campaign}
                    connection={live.connection}
                    resyncs={live.resyncs}
                  />
                </Card>
              )}
            </section>

            <section class="panels panels-3">
              {has('referral') && (
                <Card name="feed" title={t('feed.title')}>
                  <Milestones connection={live.connection} resyncs={live.resyncs} />
                </Card>
              )}
              {has('referral') && (
                <Card name="board" title={t('board.title')}>
                  <Leaderboard entries={live.leaderboard} />
                </Card>
              )}
              {has('streaming') && (
                <Card name="stream" title={t('stream.title')}>
                  <StreamPanel
                    client={client}
                    campaign={campaign}
                    connection={live.connection}
                    resyncs={live.resyncs}
                    canStart={own !== undefined}
                  />
                </Card>
              )}
              {has('media') && (
                <Card name="media" title={t('media.title')} lead={t('media.lead')}>
                  <MediaUpload
                    client={client}
                    campaign={campaign}
                    connection={live.connection}
                    resyncs={live.resyncs}
                  />
                </Card>
              )}
            </section>
          </fieldset>
        </main>
      )}
      <footer class="footer">
        <Logo />
        <span>{t('footer.note')}</span>
      </footer>
    </div>
  )
}

/**
 * In how many ms to ask for the page's campaign again after `err`, the `failures`-th failure
 * (0-based), or undefined when asking again would only be refused again (a 400, a 403).
 */
function retryIn(err: unknown, failures: number): number | undefined {
  const e = err instanceof OvasabiError ? err : undefined
  if (e?.code === 'RATE_LIMITED') return Math.min(60, Math.max(1, e.retryAfter ?? 5)) * 1000
  // Network errors have no status (0); 5xx are the server's, and pass.
  if (e && e.status !== 0 && e.status < 500) return undefined
  const ceiling = Math.min(60_000, 1000 * 2 ** failures)
  return ceiling / 2 + Math.random() * (ceiling / 2)
}

/** The first of the browser's languages (`navigator.languages`) the page offers, by base language. */
function browserLanguage(offered: string[]): string | undefined {
  const wanted = navigator.languages?.length ? navigator.languages : [navigator.language]
  for (const tag of wanted) {
    const base = tag?.toLowerCase().split(/[-_]/)[0]
    if (base && offered.includes(base)) return base
  }
  return undefined
}

/**
 * The waiting room's notice: when the campaign opens, in the visitor's own time zone, written the
 * way the language the page is shown in writes dates (`shown`, as `<html lang>` says).
 */
function opensText(
  startsAt: unknown,
  shown: string,
  t: (key: TextKey, params?: Record<string, string>) => string,
): string {
  const at = typeof startsAt === 'string' ? new Date(startsAt) : undefined
  if (!at || Number.isNaN(at.getTime())) return t('campaign.opens.unknown')
  return t('campaign.opens', { time: dateTime(shown).format(at) })
}

function dateTime(locale: string): Intl.DateTimeFormat {
  const style = { dateStyle: 'medium', timeStyle: 'short' } as const
  try {
    return new Intl.DateTimeFormat(locale, style)
  } catch {
    // A tag this browser cannot use: its own default, still a readable date.
    return new Intl.DateTimeFormat(undefined, style)
  }
}

/**
 * A panel titled by its heading (`{name}-title`), with an optional lead line; `anchor` makes it the
 * target of the navigation's and the hero's `#{name}` links.
 */
function Card(props: {
  name: string
  title: string
  lead?: string
  anchor?: boolean
  children: ComponentChildren
}) {
  return (
    <article class="card" id={props.anchor ? props.name : undefined} aria-labelledby={`${props.name}-title`}>
      <h2 id={`${props.name}-title`}>{props.title}</h2>
      {props.lead && <p class="card-lead">{props.lead}</p>}
      {props.children}
    </article>
  )
}

function Feature(props: { icon: string; title: string; body: string }) {
  return (
    <div class="feature">
      <span class="feature-icon" aria-hidden="true">
        {props.icon}
      </span>
      <h3>{props.title}</h3>
      <p>{props.body}</p>
    </div>
  )
}

function LivePill({ live }: { live: Live }) {
  const { t } = useI18n()
  const online = live.state === 'open'
  const label = online ? t('live.here') : live.state === 'closed' ? t('live.offline') : t('live.connecting')
  return (
    // One live region for the count and its word: "3 here now", "– offline", never a bare number.
    <div class="live-pill" data-state={live.state} title={live.state} aria-live="polite" aria-atomic="true">
      <span class="live-dot" aria-hidden="true" />
      <span data-testid="active-users" class="live-count">
        {online && live.activeUsers !== null ? live.activeUsers : '–'}
      </span>
      <span class="live-label">{label}</span>
    </div>
  )
}

function LanguageSwitcher() {
  const { lang, setLang, languages, status, t } = useI18n()
  return (
    <div class="lang">
      <label class="sr-only" for="lang-select">
        {t('lang.label')}
      </label>
      <select
        id="lang-select"
        data-testid="language-switcher"
        value={lang}
        onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value)}
        aria-describedby="lang-status"
      >
        {languages.map((l) => (
          <option key={l.code} value={l.code}>
            {l.name}
          </option>
        ))}
      </select>
      <span id="lang-status" class="lang-status" aria-live="polite">
        {status === 'loading'
          ? '…'
          : status === 'unavailable'
            ? t('lang.unavailable')
            : status === 'partial'
              ? t('lang.partial')
              : ''}
      </span>
    </div>
  )
}
