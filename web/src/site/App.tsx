import { useEffect, useMemo, useState } from 'preact/hooks'
import type { PublicCampaign } from '../../../client/index.js'
import { Logo } from '../shared/Logo.js'
import {
  credentialRefused,
  ensureSession,
  loadUser,
  pageClient,
  renewSession,
  type StoredUser,
} from '../shared/session.js'
import { currentCampaign } from './campaign.js'
import { CursorLayer } from './Cursors.js'
import { I18nProvider, useI18n } from './i18n.js'
import { JoinForm } from './JoinForm.js'
import { useLive, type Live } from './live.js'
import { MediaUpload } from './MediaUpload.js'
import { Leaderboard } from './Leaderboard.js'
import { Milestones } from './Milestones.js'
import { QuoteForm } from './QuoteForm.js'
import { StreamPanel } from './StreamPanel.js'

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
  | { kind: 'error'; message: string }

function Site({ client, campaign }: { client: ReturnType<typeof pageClient>; campaign: string }) {
  const { t } = useI18n()
  const [user, setUser] = useState<StoredUser | undefined>(() => loadUser())
  const [loaded, setLoaded] = useState<Loaded>({ kind: 'loading' })

  useEffect(() => {
    let stop = false
    ;(async () => {
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
        if (!stop) setLoaded({ kind: 'error', message: (err as Error).message })
      }
    })()
    return () => {
      stop = true
    }
  }, [client, campaign])

  const info = loaded.kind === 'ready' ? loaded.info : undefined
  const live = useLive(
    client,
    campaign,
    loaded.kind === 'ready',
    user?.id,
    info?.metadata.features.includes('referral') ?? false,
  )
  const has = (f: string) => !info || info.metadata.features.includes(f)
  const title = info?.title ?? 'Ovasabi'
  useEffect(() => {
    document.title = `${title}: live campaigns`
  }, [title])

  return (
    <div class="site">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/" aria-label={`${title} home`}>
          <Logo />
          <span>{title}</span>
        </a>
        <nav class="topnav" aria-label="Primary">
          {has('quote') && <a href="#quote">{t('nav.quote')}</a>}
          {has('registration') && <a href="#join">{t('nav.join')}</a>}
        </nav>
        <div class="topbar-right">
          <LivePill live={live} />
          <LanguageSwitcher />
        </div>
      </header>

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
          {loaded.kind === 'error' && (
            <p class="notice" data-tone="danger" role="alert">
              {loaded.message}
            </p>
          )}
          {info && info.status !== 'active' && (
            <p class="notice" role="status">
              This campaign is {info.status}.
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

        <section class="panels">
          {has('registration') && (
            <article class="card" id="join" aria-labelledby="join-title">
              <h2 id="join-title">{t('join.title')}</h2>
              <p class="card-lead">{t('join.lead')}</p>
              <JoinForm client={client} campaign={campaign} user={user} onJoined={setUser} />
            </article>
          )}
          {has('quote') && (
            <article class="card" id="quote" aria-labelledby="quote-title">
              <h2 id="quote-title">{t('quote.title')}</h2>
              <p class="card-lead">{t('quote.lead')}</p>
              <QuoteForm client={client} campaign={campaign} connection={live.connection} />
            </article>
          )}
        </section>

        <section class="panels panels-3">
          {has('referral') && (
            <article class="card" aria-labelledby="feed-title">
              <h2 id="feed-title">{t('feed.title')}</h2>
              <Milestones connection={live.connection} resyncs={live.resyncs} />
            </article>
          )}
          {has('referral') && (
            <article class="card" aria-labelledby="board-title">
              <h2 id="board-title">{t('board.title')}</h2>
              <Leaderboard entries={live.leaderboard} />
            </article>
          )}
          {has('streaming') && (
            <article class="card" aria-labelledby="stream-title">
              <h2 id="stream-title">{t('stream.title')}</h2>
              <StreamPanel
                client={client}
                campaign={campaign}
                connection={live.connection}
                canStart={Boolean(user)}
              />
            </article>
          )}
          {has('media') && (
            <article class="card" aria-labelledby="media-title">
              <h2 id="media-title">{t('media.title')}</h2>
              <p class="card-lead">{t('media.lead')}</p>
              <MediaUpload client={client} campaign={campaign} connection={live.connection} />
            </article>
          )}
        </section>
      </main>
      <footer class="footer">
        <Logo />
        <span>{t('footer.note')}</span>
      </footer>
    </div>
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
    <div class="live-pill" data-state={live.state} title={live.state}>
      <span class="live-dot" aria-hidden="true" />
      <span data-testid="active-users" class="live-count" aria-live="polite" aria-atomic="true">
        {online && live.activeUsers !== null ? live.activeUsers : '–'}
      </span>
      <span class="live-label">{label}</span>
    </div>
  )
}

function LanguageSwitcher() {
  const { lang, setLang, languages, status, available } = useI18n()
  return (
    <div class="lang">
      <label class="sr-only" for="lang-select">
        Language
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
          : !available
            ? 'Translation unavailable'
            : status === 'error'
              ? 'Partly translated'
              : ''}
      </span>
    </div>
  )
}
