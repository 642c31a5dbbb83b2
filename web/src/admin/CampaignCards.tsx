import type { Campaign } from '../../../client/index.js'
import { errorText, type Loadable } from './api.js'
import type { LinkTo } from './route.js'

/** The console's home: every campaign as a card, or how to create the first. */
export function CampaignCards(props: { campaigns: Loadable<{ campaigns: Campaign[] }>; link: LinkTo }) {
  const { campaigns, link } = props
  const list = campaigns.state === 'ready' ? campaigns.data.campaigns : []
  return (
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
            <span class="muted">{(c.metadata.features as string[] | undefined)?.length ?? 0} features</span>
          </a>
        ))}
      </div>
    </section>
  )
}
