import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import type { Campaign, OvasabiClient } from '../../../client/index.js'
import { Logo } from '../shared/Logo.js'
import { adminClient, storedKey, storeKey, useLoad } from './api.js'
import { CampaignCards } from './CampaignCards.js'
import { CampaignPage } from './CampaignPage.js'
import { NewCampaign } from './NewCampaign.js'
import { GraphView } from './Graph.js'
import { Login } from './Login.js'
import { type LinkTo, parseRoute, type Route, routeHref } from './route.js'
import { StreamsWall, type WallRole } from './Streams.js'
import { AdminOnly, Pager } from './ui.js'

/** Campaigns per page of the list (sidebar and home): past it the list pages. */
const PER_PAGE = 100

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

function Shell({ client, onLogout }: { client: OvasabiClient; onLogout: () => void }) {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname))
  // What the key may do: screens only an admin can use (webhooks, erasing, archiving, the service
  // graph) are not shown to an editor's key, which they only answered 403 `FORBIDDEN`. Undefined
  // while the server has not said; a server that cannot say leaves every screen shown.
  const [me] = useLoad(() => client.auth.me(), [client])
  const admin =
    me.state === 'ready' ? me.data.roles.includes('admin') : me.state === 'loading' ? undefined : true
  // The streams wall's pin and archive: an editor's key changes only the streams it added.
  const wallRole: WallRole | undefined =
    admin === undefined
      ? undefined
      : admin
        ? 'admin'
        : me.state === 'ready' && me.data.roles.includes('editor')
          ? 'editor'
          : 'reader'
  // The list pages: it loaded the first 200 campaigns and never showed the rest.
  const [listPage, setListPage] = useState(1)
  const [campaigns, reload] = useLoad(
    () => client.campaigns.list({ include_archived: true, page: listPage, per_page: PER_PAGE }),
    [client, listPage],
  )
  useEffect(() => {
    const pop = () => setRoute(parseRoute(location.pathname))
    window.addEventListener('popstate', pop)
    return () => window.removeEventListener('popstate', pop)
  }, [])
  const go = (r: Route) => {
    history.pushState(null, '', routeHref(r))
    setRoute(r)
  }
  const link: LinkTo = (r) => ({
    href: routeHref(r),
    onClick: (e: MouseEvent) => {
      if (e.metaKey || e.ctrlKey || e.shiftKey) return
      e.preventDefault()
      go(r)
    },
  })
  const list = campaigns.state === 'ready' ? campaigns.data.campaigns : []
  const pager = (testid: string) =>
    campaigns.state === 'ready' && (
      <Pager
        // The page the list shows, not the one asked for: until it comes the count stays true.
        page={campaigns.data.page}
        perPage={PER_PAGE}
        total={campaigns.data.total}
        shown={list.length}
        noun="Campaigns"
        testid={testid}
        onPage={setListPage}
      />
    )
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
        {pager('side-campaigns-pager')}
        <div class="side-head">
          <span>Platform</span>
        </div>
        <ul class="side-list">
          <li>
            <a {...link({ page: 'streams' })} aria-current={route.page === 'streams' ? 'page' : undefined}>
              Streams wall
            </a>
          </li>
          {admin && (
            <li>
              <a {...link({ page: 'graph' })} aria-current={route.page === 'graph' ? 'page' : undefined}>
                Service graph
              </a>
            </li>
          )}
        </ul>
        <button class="btn btn-sm btn-ghost side-logout" type="button" onClick={onLogout}>
          Sign out
        </button>
      </aside>
      <main class="content" id="main" tabIndex={-1}>
        {route.page === 'home' && (
          <>
            <CampaignCards campaigns={campaigns} link={link} />
            {pager('campaigns-pager')}
          </>
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
        {route.page === 'campaign' && (
          <CampaignPage
            client={client}
            slug={route.slug}
            tab={route.tab}
            campaign={current}
            single={single}
            campaigns={campaigns}
            admin={admin}
            link={link}
            onSaved={reload}
          />
        )}
        {route.page === 'streams' && <StreamsWall client={client} role={wallRole} />}
        {route.page === 'graph' && (
          <AdminOnly allowed={admin} what="The service graph">
            {() => <GraphView client={client} />}
          </AdminOnly>
        )}
      </main>
    </div>
  )
}
