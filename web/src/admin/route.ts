/** `/admin`, `/admin/new`, `/admin/c/{slug}/{tab}`, `/admin/streams`, `/admin/people`, `/admin/apikeys`, `/admin/graph`. */
export type Route =
  | { page: 'home' }
  | { page: 'new' }
  | { page: 'campaign'; slug: string; tab: Tab }
  | { page: 'streams' }
  | { page: 'people' }
  | { page: 'apikeys' }
  | { page: 'graph' }
export const TABS = ['dashboard', 'settings', 'leads', 'webhooks'] as const
export type Tab = (typeof TABS)[number]

/**
 * Pages for someone not signed in, outside the routes above: the page a password-reset mail links
 * to (the server's PASSWORD_RESET_URL default), and sign-in opened on its "forgot" form (where that
 * page sends someone whose link no longer works).
 */
export const RESET_PASSWORD_PATH = '/admin/reset-password'
export const FORGOT_PASSWORD_PATH = '/admin/forgot-password'

export function parseRoute(path: string): Route {
  const m = /^\/admin\/c\/([a-z0-9][a-z0-9_-]{0,63})(?:\/(\w+))?/.exec(path)
  if (m)
    return { page: 'campaign', slug: m[1]!, tab: TABS.includes(m[2] as Tab) ? (m[2] as Tab) : 'dashboard' }
  if (path.startsWith('/admin/new')) return { page: 'new' }
  if (path.startsWith('/admin/streams')) return { page: 'streams' }
  if (path.startsWith('/admin/people')) return { page: 'people' }
  if (path.startsWith('/admin/apikeys')) return { page: 'apikeys' }
  if (path.startsWith('/admin/graph')) return { page: 'graph' }
  return { page: 'home' }
}

export function routeHref(r: Route): string {
  if (r.page === 'campaign') return `/admin/c/${r.slug}/${r.tab}`
  return r.page === 'home' ? '/admin' : `/admin/${r.page}`
}

/** Props for an `<a>` that moves within the console without a page load (modified clicks open a tab). */
export type LinkTo = (r: Route) => { href: string; onClick: (e: MouseEvent) => void }
