import type { Campaign, OvasabiClient } from '../../../client/index.js'
import { errorText, type Loadable } from './api.js'
import { CampaignEditor } from './CampaignEditor.js'
import { Dashboard } from './Dashboard.js'
import { Leads } from './Leads.js'
import type { LinkTo, Tab } from './route.js'
import { TABS } from './route.js'
import { AdminOnly } from './ui.js'
import { Webhooks } from './Webhooks.js'

/** One campaign's tabs, or why it cannot be shown (unknown address, still loading, an error). */
export function CampaignPage(props: {
  client: OvasabiClient
  slug: string
  tab: Tab
  /** The campaign, once the list or a lookup by name found it. */
  campaign: Campaign | undefined
  /** The lookup by name (for a campaign past the list's first page) and the list itself. */
  single: Loadable<Campaign | undefined>
  campaigns: Loadable<unknown>
  /** Whether the key is an admin's (undefined: not known yet): admin-only parts are not shown otherwise. */
  admin: boolean | undefined
  link: LinkTo
  onSaved: () => void
}) {
  const { client, slug, tab, campaign: current, single, campaigns, link, admin } = props
  if (!current)
    return (
      <section data-testid="campaign-missing">
        <h1>{slug}</h1>
        {single.state === 'error' && single.error.code === 'CAMPAIGN_NOT_FOUND' ? (
          <p class="notice" data-tone="warn" role="alert">
            There is no campaign <code>{slug}</code>. <a {...link({ page: 'home' })}>Back to campaigns</a>
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
    )
  return (
    <section>
      <header class="content-head">
        <div>
          <h1>{current.title}</h1>
          <p class="muted">
            <code>{slug}</code> · <a href={`/c/${slug}`}>open page</a>
          </p>
        </div>
        <span class="badge">{current.status}</span>
      </header>
      <nav class="tabs" aria-label="Campaign sections">
        {TABS.filter((t) => t !== 'webhooks' || admin).map((t) => (
          <a
            key={t}
            {...link({ page: 'campaign', slug, tab: t })}
            aria-current={tab === t ? 'page' : undefined}
          >
            {t[0]!.toUpperCase() + t.slice(1)}
          </a>
        ))}
      </nav>
      {tab === 'dashboard' && (
        <Dashboard
          client={client}
          slug={slug}
          referral={((current.metadata.features as string[] | undefined) ?? []).includes('referral')}
        />
      )}
      {tab === 'settings' && (
        <CampaignEditor
          key={current.slug}
          client={client}
          campaign={current}
          admin={admin}
          onSaved={props.onSaved}
        />
      )}
      {tab === 'leads' && <Leads client={client} slug={slug} canErase={admin === true} />}
      {tab === 'webhooks' && (
        <AdminOnly allowed={admin} what="Webhooks" plural>
          {() => <Webhooks client={client} slug={slug} />}
        </AdminOnly>
      )}
    </section>
  )
}
