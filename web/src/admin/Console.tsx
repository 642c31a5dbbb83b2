import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import type { Campaign, OvasabiClient } from '../../../client/index.js'
import { Logo } from '../shared/Logo.js'
import { adminClient, errorText, storedKey, storeKey, useLoad } from './api.js'
import { CampaignEditor, NewCampaign } from './CampaignEditor.js'
import { Dashboard } from './Dashboard.js'
import { GraphView } from './Graph.js'
import { Leads } from './Leads.js'
import { StreamsWall } from './Streams.js'
import { Webhooks } from './Webhooks.js'

/** `/admin`, `/admin/new`, `/admin/c/{slug}/{tab}`, `/admin/streams`, `/admin/graph`. */
type Route =
  | { page: 'home' }
  | { page: 'new' }
  | { page: 'campaign'; slug: string; tab: Tab }
  | { page: 'streams' }
  | { page: 'graph' }
const TABS = ['dashboard', 'settings', 'leads', 'webhooks'] as const
type Tab = (typeof TABS)[number]

function parse(path: string): Route {
  const m = /^\/admin\/c\/([a-z0-9][a-z0-9_-]{0,63})(?:\/(\w+))?/.exec(path)
  if (m)
    return { page: 'campaign', slug: m[1]!, tab: TABS.includes(m[2] as Tab) ? (m[2] as Tab) : 'dashboard' }
  if (path.startsWith('/admin/new')) return { page: 'new' }
  if (path.startsWith('/admin/streams')) return { page: 'streams' }
  if (path.startsWith('/admin/graph')) return { page: 'graph' }
  return { page: 'home' }
}

function href(r: Route): string {
  if (r.page === 'campaign') return `/admin/c/${r.slug}/${r.tab}`
  return r.page === 'home' ? '/admin' : `/admin/${r.page}`
}

const REFUSED =
  'The server refused this API key: it was revoked, or the server’s keys changed. Sign in with a new key.'

export function Console() {
  const [key, setKey] = useState(storedKey())
  const [refused, setRefused] = useState(false)
  const current = useRef(key)
  current.current = key
  const client = useMemo(
    () =>
      key
        ? adminClient(key, () => {
            // A late answer to a key already replaced must not sign the new one out.
            if (current.current !== key) return
            current.current = undefined
            storeKey(undefined)
            setRefused(true)
            setKey(undefined)
          })
        : undefined,
    [key],
  )
  if (!client)
    return (
      <Login
        refused={refused}
        onKey={(k) => {
          setRefused(false)
          setKey(k)
        }}
      />
    )
  return (
    <Shell
      client={client}
      onLogout={() => {
        storeKey(undefined)
        setKey(undefined)
      }}
    />
  )
}

function Login({ onKey, refused }: { onKey: (key: string) => void; refused: boolean }) {
  const [error, setError] = useState<string>()
  const [pending, setPending] = useState(false)
  async function submit(e: Event) {
    e.preventDefault()
    const key = String(new FormData(e.currentTarget as HTMLFormElement).get('key') ?? '').trim()
    setPending(true)
    setError(undefined)
    try {
      await adminClient(key).campaigns.list({ per_page: 1 })
      storeKey(key)
      onKey(key)
    } catch (err) {
      setError(errorText(err))
    } finally {
      setPending(false)
    }
  }
  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} data-testid="login-form">
        <div class="login-brand">
          <Logo />
          <span>Ovasabi console</span>
        </div>
        <div class="field">
          <label for="api-key">API key</label>
          <input
            id="api-key"
            name="key"
            type="password"
            autocomplete="current-password"
            placeholder="ovs_…"
            required
            aria-describedby="api-key-hint"
          />
          <span class="hint" id="api-key-hint">
            Create one with <code>ovasabi apikey create --role admin --name me</code>. Kept for this tab only.
          </span>
        </div>
        {refused && !error && (
          <p class="notice" data-tone="warn" role="status" data-testid="key-refused">
            {REFUSED}
          </p>
        )}
        {error && (
          <p class="notice" data-tone="danger" role="alert">
            {error}
          </p>
        )}
        <button class="btn btn-primary" type="submit" disabled={pending}>
          Sign in
        </button>
      </form>
    </main>
  )
}

function Shell({ client, onLogout }: { client: OvasabiClient; onLogout: () => void }) {
  const [route, setRoute] = useState<Route>(() => parse(location.pathname))
  const [campaigns, reload] = useLoad(
    () => client.campaigns.list({ include_archived: true, per_page: 200 }),
    [client],
  )
  useEffect(() => {
    const pop = () => setRoute(parse(location.pathname))
    window.addEventListener('popstate', pop)
    return () => window.removeEventListener('popstate', pop)
  }, [])
  const go = (r: Route) => {
    history.pushState(null, '', href(r))
    setRoute(r)
  }
  const link = (r: Route) => ({
    href: href(r),
    onClick: (e: MouseEvent) => {
      if (e.metaKey || e.ctrlKey || e.shiftKey) return
      e.preventDefault()
      go(r)
    },
  })
  const list = campaigns.state === 'ready' ? campaigns.data.campaigns : []
  const slug = route.page === 'campaign' ? route.slug : undefined
  const listed = slug ? list.find((c) => c.slug === slug) : undefined
  // A campaign past the first page of the list (or a mistyped address) is asked for by name, so
  // the page says which it is instead of showing empty tabs.
  const [single] = useLoad(
    async () =>
      slug && campaigns.state === 'ready' && !listed
        ? ((await client.campaigns.get(slug)) as Campaign)
        : undefined,
    [client, slug, campaigns, listed === undefined],
  )
  const fetched = single.state === 'ready' && single.data?.slug === slug ? single.data : undefined
  const current = listed ?? fetched
  useEffect(() => {
    const what =
      route.page === 'campaign'
        ? `${current?.title || route.slug} · ${route.tab}`
        : { home: 'Campaigns', new: 'New campaign', streams: 'Streams wall', graph: 'Service graph' }[
            route.page
          ]
    document.title = `${what} · Ovasabi console`
  }, [route, current?.title])

  return (
    <div class="console">
      {/* Past the sidebar (every campaign is a link in it) to the page, for keyboard users. */}
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <aside class="sidebar" aria-label="Navigation">
        <a class="side-brand" {...link({ page: 'home' })}>
          <Logo /> <span>Console</span>
        </a>
        <div class="side-head">
          <span>Campaigns</span>
          <a class="btn btn-sm btn-soft" {...link({ page: 'new' })}>
            New
          </a>
        </div>
        <ul class="side-list" data-testid="campaign-list">
          {list.map((c) => (
            <li key={c.slug}>
              <a
                {...link({
                  page: 'campaign',
                  slug: c.slug,
                  tab: route.page === 'campaign' ? route.tab : 'dashboard',
                })}
                aria-current={route.page === 'campaign' && route.slug === c.slug ? 'page' : undefined}
                data-status={c.status}
              >
                <span class="side-title">{c.title}</span>
                <span class="side-slug">{c.slug}</span>
              </a>
            </li>
          ))}
        </ul>
        <div class="side-head">
          <span>Platform</span>
        </div>
        <ul class="side-list">
          <li>
            <a {...link({ page: 'streams' })} aria-current={route.page === 'streams' ? 'page' : undefined}>
              Streams wall
            </a>
          </li>
          <li>
            <a {...link({ page: 'graph' })} aria-current={route.page === 'graph' ? 'page' : undefined}>
              Service graph
            </a>
          </li>
        </ul>
        <button class="btn btn-sm btn-ghost side-logout" type="button" onClick={onLogout}>
          Sign out
        </button>
      </aside>
      <main class="content" id="main" tabIndex={-1}>
        {route.page === 'home' && (
          <section>
            <h1>Campaigns</h1>
            {campaigns.state === 'loading' && <p class="muted">Loading campaigns…</p>}
            {campaigns.state === 'error' && (
              <p class="notice" data-tone="danger" role="alert">
                {errorText(campaigns.error)}
              </p>
            )}
            {campaigns.state === 'ready' && list.length === 0 && (
              <p class="muted" data-testid="no-campaigns">
                No campaigns yet. <a {...link({ page: 'new' })}>Create the first one</a>.
              </p>
            )}
            <div class="campaign-cards" data-testid="campaign-cards">
              {list.map((c) => (
                <a
                  key={c.slug}
                  class="campaign-card"
                  {...link({ page: 'campaign', slug: c.slug, tab: 'dashboard' })}
                >
                  <span
                    class="badge"
                    data-tone={c.status === 'active' ? 'ok' : c.status === 'archived' ? undefined : 'warn'}
                  >
                    {c.status}
                  </span>
                  <strong>{c.title}</strong>
                  <code>{c.slug}</code>
                  <span class="muted">
                    {(c.metadata.features as string[] | undefined)?.length ?? 0} features
                  </span>
                </a>
              ))}
            </div>
          </section>
        )}
        {route.page === 'new' && (
          <NewCampaign
            client={client}
            onCreated={(slug) => {
              reload()
              go({ page: 'campaign', slug, tab: 'settings' })
            }}
          />
        )}
        {route.page === 'campaign' && !current && (
          <section data-testid="campaign-missing">
            <h1>{route.slug}</h1>
            {single.state === 'error' && single.error.code === 'CAMPAIGN_NOT_FOUND' ? (
              <p class="notice" data-tone="warn" role="alert">
                There is no campaign <code>{route.slug}</code>.{' '}
                <a {...link({ page: 'home' })}>Back to campaigns</a>
              </p>
            ) : single.state === 'error' ? (
              <p class="notice" data-tone="danger" role="alert">
                {errorText(single.error)}
              </p>
            ) : campaigns.state === 'error' ? (
              <p class="notice" data-tone="danger" role="alert">
                {errorText(campaigns.error)}
              </p>
            ) : (
              <p class="muted">Loading campaign…</p>
            )}
          </section>
        )}
        {route.page === 'campaign' && current && (
          <section>
            <header class="content-head">
              <div>
                <h1>{current.title}</h1>
                <p class="muted">
                  <code>{route.slug}</code> · <a href={`/c/${route.slug}`}>open page</a>
                </p>
              </div>
              <span class="badge">{current.status}</span>
            </header>
            <nav class="tabs" aria-label="Campaign sections">
              {TABS.map((t) => (
                <a
                  key={t}
                  {...link({ page: 'campaign', slug: route.slug, tab: t })}
                  aria-current={route.tab === t ? 'page' : undefined}
                >
                  {t[0]!.toUpperCase() + t.slice(1)}
                </a>
              ))}
            </nav>
            {route.tab === 'dashboard' && (
              <Dashboard
                client={client}
                slug={route.slug}
                referral={((current.metadata.features as string[] | undefined) ?? []).includes('referral')}
              />
            )}
            {route.tab === 'settings' && (
              <CampaignEditor key={current.slug} client={client} campaign={current} onSaved={reload} />
            )}
            {route.tab === 'leads' && <Leads client={client} slug={route.slug} />}
            {route.tab === 'webhooks' && <Webhooks client={client} slug={route.slug} />}
          </section>
        )}
        {route.page === 'streams' && <StreamsWall client={client} />}
        {route.page === 'graph' && <GraphView client={client} />}
      </main>
    </div>
  )
}
