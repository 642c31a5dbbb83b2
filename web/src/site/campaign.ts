/** The campaign this page shows: `/c/{slug}`, else the default the server wrote into the page. */
export function currentCampaign(): string {
  const m = /^\/c\/([a-z0-9][a-z0-9_-]{0,63})\/?$/.exec(location.pathname)
  if (m) return m[1]!
  const meta = document.querySelector<HTMLMetaElement>('meta[name="ovasabi-campaign"]')?.content
  return meta && /^[a-z0-9][a-z0-9_-]{0,63}$/.test(meta) ? meta : 'ovasabi_website'
}
