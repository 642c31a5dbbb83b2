import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { type AuthResult, type Campaign, type OvasabiClient, OvasabiError } from '../../../client/index.js'
import { Logo } from '../shared/Logo.js'
import { Account } from './Account.js'
import { adminClient, errorText, mayUseConsole, storeCredential, storedCredential, useLoad } from './api.js'
import { ApiKeys } from './ApiKeys.js'
import { CampaignCards } from './CampaignCards.js'
import { CampaignPage } from './CampaignPage.js'
import { NewCampaign } from './NewCampaign.js'
import { People } from './People.js'
import { GraphView } from './Graph.js'
import { Login, type SignedOut } from './Login.js'
import { type LinkTo, parseRoute, type Route, routeHref } from './route.js'
import { StreamsWall, type WallRole } from './Streams.js'
import { AdminOnly, Pager } from './ui.js'

/** Campaigns per page of the list (sidebar and home): past it the list pages. */
const PER_PAGE = 100

/** Longest a timer may wait (setTimeout's limit): a later expiry is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1
/** A person's token is renewed this long before it expires (half its lifetime when that is shorter). */
const RENEW_BEFORE_MS = 5 * 60_000
/** After a renewal that failed (not refused), the next try waits at least this long. */
const RENEW_RETRY_MS = 30_000

export function Console() {
  const [credential, setCredential] = useState(storedCredential())
  const [signedOut, setSignedOut] = useState<SignedOut>()
  // Bumped when a password change replaced the token: the renewal below waits for the new expiry.
  const [reissued, setReissued] = useState(0)
  const current = useRef(credential)
  current.current = credential
  const signOut = (why?: SignedOut) => {
    current.current = undefined
    storeCredential(undefined)
    setSignedOut(why)
    setCredential(undefined)
  }
  const client = useMemo(
    () =>
      credential
        ? adminClient(credential, () => {
            // A late answer to a credential already replaced (or signed out) must not sign the new one out.
            if (current.current !== credential) return
            signOut(credential.kind === 'key' ? 'key-refused' : 'session-ended')
          })
        : undefined,
    [credential],
  )
  // A person's token is renewed (`POST /api/auth/refresh`) ahead of its expiry, so a console left
  // open stays signed in: the same sign-in, so the credential object is kept (nothing reloads) and
  // the client takes the new token itself. A renewal the server refuses (401: logged out, cut off,
  // erased) signs out at once through `adminClient`'s refusal; one that fails otherwise (offline,
  // 429) is tried again, and at the expiry the console goes back to sign-in, saying why, rather
  // than showing screens whose every request is refused.
  useEffect(() => {
    if (credential?.kind !== 'token' || !credential.expiresAt || !client) return
    let at = Date.parse(credential.expiresAt)
    if (Number.isNaN(at)) return
    let timer: ReturnType<typeof setTimeout>
    let stopped = false
    // Renew this long before the expiry: five minutes, or half of a shorter lifetime.
    let lead = Math.min(RENEW_BEFORE_MS, (at - Date.now()) / 2)
    let renewing = false
    const renew = async () => {
      renewing = true
      try {
        const auth = await client.users.refresh()
        if (stopped || current.current !== credential) return
        const next = Date.parse(auth.expires_at)
        credential.token = auth.token
        credential.expiresAt = auth.expires_at
        storeCredential(credential)
        lead = Math.min(RENEW_BEFORE_MS, (next - Date.now()) / 2)
        at = next
      } catch (err) {
        // The session reached SESSION_MAX_AGE_SECONDS: no retry renews it, only signing in again.
        // Said as such, even though the 401 has already signed out through `adminClient`.
        if (err instanceof OvasabiError && err.code === 'SESSION_EXPIRED') {
          if (current.current === credential || current.current === undefined) signOut('session-expired')
          return
        }
        // Tried again after a pause; the expiry below still ends the sign-in if none succeeds.
        lead = Math.max(0, Math.min(lead, at - Date.now() - RENEW_RETRY_MS))
      } finally {
        renewing = false
      }
      if (!stopped) wait()
    }
    const wait = () => {
      const left = at - Date.now()
      if (left <= 0) {
        if (current.current === credential) signOut('session-ended')
        return
      }
      if (left <= lead && !renewing) {
        void renew()
        return
      }
      timer = setTimeout(wait, Math.min(left > lead ? left - lead : left, MAX_TIMER_MS))
    }
    wait()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [credential, client, reissued])
  if (!client || !credential)
    return (
      <Login
        signedOut={signedOut}
        onSignedIn={(c) => {
          setSignedOut(undefined)
          setCredential(c)
        }}
      />
    )
  return (
    <Shell
      client={client}
      person={credential.kind === 'token'}
      onNewToken={(auth) => {
        // A password change (a new session) or "sign out everywhere else" (this one's) cut off
        // every token of the person, this console's too: the client has taken the answer's token,
        // which the tab keeps, as a renewal's, so a reload stays signed in.
        if (credential.kind !== 'token' || current.current !== credential) return
        credential.token = auth.token
        credential.expiresAt = auth.expires_at
        storeCredential(credential)
        setReissued((n) => n + 1)
      }}
      onNoRole={() => signOut('no-role')}
      onLogout={async () => {
        // A person's session ends on the server too; a key stays valid (an admin revokes keys).
        current.current = undefined
        if (credential.kind === 'token') await client.users.logout().catch(() => {})
        signOut()
      }}
    />
  )
}

function Shell({
  client,
  person,
  onNewToken,
  onLogout,
  onNoRole,
}: {
  client: OvasabiClient
  /**
   * Signed in as a person (email and password), not with a key: what the Streams wall calls the
   * caller, and whether there is an account to show.
   */
  person: boolean
  /** The person's password changed: the answer's token is the sign-in from now on. */
  onNewToken: (auth: AuthResult) => void
  onLogout: () => void
  onNoRole: () => void
}) {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname))
  // What the credential may do: screens only an admin can use (webhooks, erasing, archiving, the
  // service graph) are not shown to an editor, which they only answered 403 `FORBIDDEN`. Undefined
  // while the server has not said; a server that cannot say is shown as an error (below), never
  // taken for an admin.
  const [me, reloadMe] = useLoad(() => client.auth.me(), [client])
  const roles = me.state === 'ready' ? me.data.roles : undefined
  const admin = roles ? roles.includes('admin') : undefined
  // The streams wall's pin and archive: an editor changes only the streams it added.
  const wallRole: WallRole | undefined = roles ? (admin ? 'admin' : 'editor') : undefined
  // A key or person with no console role (a participant's key, say) gets the sign-in form, saying so.
  const noRole = roles !== undefined && !mayUseConsole(roles)
  useEffect(() => {
    if (noRole) onNoRole()
  }, [noRole])
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
        : {
            home: 'Campaigns',
            new: 'New campaign',
            streams: 'Streams wall',
            people: 'People',
            apikeys: 'API keys',
            graph: 'Service graph',
            account: 'Your account',
          }[route.page]
    document.title = `${what} · Ovasabi console`
  }, [route, current?.title])

  if (me.state === 'error' || me.state === 'unavailable')
    return (
      <main class="login">
        <div class="login-card" data-testid="me-failed">
          <p class="notice" data-tone="danger" role="alert">
            The console could not ask the server what this sign-in may do
            {me.state === 'error' ? ` (${errorText(me.error)})` : ''}. Retry, or sign in again.
          </p>
          <div class="login-actions">
            <button class="btn btn-primary" type="button" onClick={reloadMe}>
              Retry
            </button>
            <button class="btn btn-ghost" type="button" onClick={onLogout}>
              Sign in again
            </button>
          </div>
        </div>
      </main>
    )
  if (noRole) return null
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
              <a {...link({ page: 'people' })} aria-current={route.page === 'people' ? 'page' : undefined}>
                People
              </a>
            </li>
          )}
          {admin && (
            <li>
              <a {...link({ page: 'apikeys' })} aria-current={route.page === 'apikeys' ? 'page' : undefined}>
                API keys
              </a>
            </li>
          )}
          {admin && (
            <li>
              <a {...link({ page: 'graph' })} aria-current={route.page === 'graph' ? 'page' : undefined}>
                Service graph
              </a>
            </li>
          )}
          {person && (
            <li>
              <a {...link({ page: 'account' })} aria-current={route.page === 'account' ? 'page' : undefined}>
                Your account
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
        {route.page === 'streams' && <StreamsWall client={client} role={wallRole} person={person} />}
        {route.page === 'people' && (
          <AdminOnly allowed={admin} what="Giving people roles">
            {() => (
              <People
                client={client}
                self={me.state === 'ready' ? (me.data.user?.id ?? undefined) : undefined}
              />
            )}
          </AdminOnly>
        )}
        {route.page === 'apikeys' && (
          <AdminOnly allowed={admin} what="Managing API keys">
            {() => <ApiKeys client={client} />}
          </AdminOnly>
        )}
        {route.page === 'graph' && (
          <AdminOnly allowed={admin} what="The service graph">
            {() => <GraphView client={client} />}
          </AdminOnly>
        )}
        {route.page === 'account' && <Account client={client} person={person} onNewToken={onNewToken} />}
      </main>
    </div>
  )
}
