/**
 * `/admin`, `/admin/new`, `/admin/c/{slug}/{tab}`, `/admin/streams`, `/admin/people`, `/admin/apikeys`,
 * `/admin/graph`, `/admin/account`.
 */
export type Route =
  | { page: 'home' }
  | { page: 'new' }
  | { page: 'campaign'; slug: string; tab: Tab }
  | { page: 'streams' }
  | { page: 'people' }
  | { page: 'apikeys' }
  | { page: 'graph' }
  | { page: 'account' }
export const TABS = ['dashboard', 'settings', 'leads', 'webhooks'] as const
export type Tab = (typeof TABS)[number]

/**
 * Pages for someone not signed in, outside the routes above: the page a password-reset mail links
 * to (the server's PASSWORD_RESET_URL default), sign-in opened on its "forgot" form (where that
 * page sends someone whose link no longer works), and the page an address-confirmation mail links
 * to (the server's EMAIL_VERIFY_URL default).
 */
export const RESET_PASSWORD_PATH = '/admin/reset-password'
export const FORGOT_PASSWORD_PATH = '/admin/forgot-password'
export const VERIFY_EMAIL_PATH = '/admin/verify-email'

/** Whether the address bar is on `path` (a trailing slash too). */
export const isAt = (path: string): boolean => location.pathname === path || location.pathname === `${path}/`

/**
 * The token of a mailed link (`…#token=…`), taken out of the address bar at once: left there it
 * would stay in the tab's history, and in any copy of the address, for as long as it works. Kept
 * as written: `+` is not read as a space, as URLSearchParams would.
 */
export function takeLinkToken(): string | undefined {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash)
  history.replaceState(null, '', location.pathname + location.search)
  if (!m?.[1]) return undefined
  try {
    return decodeURIComponent(m[1])
  } catch {
    // Mangled in transit (a mail client cut an escape in two): no token the server would know.
    return undefined
  }
}

export function parseRoute(path: string): Route {
  const m = /^\/admin\/c\/([a-z0-9][a-z0-9_-]{0,63})(?:\/(\w+))?/.exec(path)
  if (m)
    return { page: 'campaign', slug: m[1]!, tab: TABS.includes(m[2] as Tab) ? (m[2] as Tab) : 'dashboard' }
  if (path.startsWith('/admin/new')) return { page: 'new' }
  if (path.startsWith('/admin/streams')) return { page: 'streams' }
  if (path.startsWith('/admin/people')) return { page: 'people' }
  if (path.startsWith('/admin/apikeys')) return { page: 'apikeys' }
  if (path.startsWith('/admin/graph')) return { page: 'graph' }
  if (path.startsWith('/admin/account')) return { page: 'account' }
  return { page: 'home' }
}

export function routeHref(r: Route): string {
  if (r.page === 'campaign') return `/admin/c/${r.slug}/${r.tab}`
  return r.page === 'home' ? '/admin' : `/admin/${r.page}`
}

/** Props for an `<a>` that moves within the console without a page load (modified clicks open a tab). */
export type LinkTo = (r: Route) => { href: string; onClick: (e: MouseEvent) => void }
