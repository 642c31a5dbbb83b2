import { useState } from 'preact/hooks'
import type { ApiKeyInput, ApiKeySummary, CreatedApiKey, OvasabiClient } from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { allCampaigns } from './all-campaigns.js'
import { type Column, DataTable, FilterSelect, LoadView, localTime, ShownOnce } from './ui.js'
import { useOneAtATime } from './one-at-a-time.js'

const ROLES: readonly ApiKeyInput['role'][] = ['participant', 'editor', 'admin']
const STATUSES: readonly ApiKeySummary['status'][] = ['active', 'revoked', 'expired']
const DAY_SECONDS = 24 * 3600
/** The key from configuration: its setting decides it, so the API refuses to revoke it (409 `CONFIGURED_API_KEY`). */
const CONFIGURED_KEY_NAME = 'OVASABI_ADMIN_KEY'

/** The keys table's columns; `revoke` asks, then revokes the key. */
const keyColumns = (revoke: (k: ApiKeySummary) => Promise<void>): Column<ApiKeySummary>[] => [
  {
    heading: 'Name',
    cell: (k) => (
      <span class="clip" dir="auto" title={k.name}>
        {k.name}
      </span>
    ),
  },
  { heading: 'Role', class: 'nowrap', cell: (k) => k.role },
  {
    heading: 'Campaigns',
    class: 'campaigns',
    cell: (k) => (k.campaigns ? k.campaigns.join(', ') : 'all campaigns'),
  },
  { heading: 'Status', class: 'status nowrap', cell: (k) => k.status },
  { heading: 'Created', class: 'nowrap', cell: (k) => localTime(k.created_at) },
  {
    heading: 'Last used',
    class: 'nowrap',
    cell: (k) => (k.last_used_at ? localTime(k.last_used_at) : 'never'),
  },
  { heading: 'Expires', class: 'nowrap', cell: (k) => (k.expires_at ? localTime(k.expires_at) : 'never') },
  {
    heading: 'Actions',
    hideHeading: true,
    cell: (k) =>
      k.name === CONFIGURED_KEY_NAME ? (
        <span class="muted" title="Rotate it by its setting, OVASABI_ADMIN_KEY">
          configured
        </span>
      ) : (
        k.status === 'active' && (
          <button class="btn btn-soft btn-sm" type="button" onClick={() => void revoke(k)}>
            Revoke
          </button>
        )
      ),
  },
]

/** The create form's fields as the API takes them, or what is wrong with them. */
function keyInput(form: HTMLFormElement): ApiKeyInput | string {
  const data = new FormData(form)
  const name = String(data.get('name') ?? '').trim()
  if (!name) return 'Name the key: say what it is for.'
  const role = String(data.get('role')) as ApiKeyInput['role']
  const input: ApiKeyInput = { name, role }
  const days = String(data.get('days') ?? '').trim()
  if (days) {
    const n = Number(days)
    if (!Number.isInteger(n) || n < 1 || n > 3650)
      return 'Expiry: a whole number of days from 1 to 3650, or empty.'
    input.expires_in_seconds = n * DAY_SECONDS
  }
  const campaigns = data.getAll('campaigns').map(String)
  if (campaigns.length > 0) input.campaigns = campaigns
  return input
}

/**
 * The API keys (admin): every key with its role, campaigns and state; a form that makes one (its
 * key shown this once, since only its hash is kept) and a way to revoke one, which stops it at
 * once on every node.
 */
export function ApiKeys({ client }: { client: OvasabiClient }) {
  const [status, setStatus] = useState('')
  const [keys, reload] = useLoad(() => client.apiKeys.list(), [client])
  // Every campaign, not the page of them the console's list shows.
  const [campaigns] = useLoad(() => allCampaigns(client), [client])
  const choices = campaigns.state === 'ready' ? campaigns.data : []
  const [message, setMessage] = useState<{ tone: 'danger' | 'ok'; text: string }>()
  const [created, setCreated] = useState<CreatedApiKey>()
  const work = useOneAtATime()

  const create = async (e: Event) => {
    e.preventDefault()
    if (work.busy()) return
    const form = e.currentTarget as HTMLFormElement
    const input = keyInput(form)
    if (typeof input === 'string') return setMessage({ tone: 'danger', text: input })
    setMessage(undefined)
    await work.run(async () => {
      try {
        setCreated(await client.apiKeys.create(input))
        form.reset()
        reload()
      } catch (err) {
        setMessage({ tone: 'danger', text: errorText(err) })
      }
    })
  }

  const revoke = async (k: ApiKeySummary) => {
    if (
      !confirm(
        `Revoke the key “${k.name}”? Everything that uses it is refused from now on; this cannot be undone.`,
      )
    )
      return
    setMessage(undefined)
    try {
      await client.apiKeys.revoke(k.id)
      setMessage({ tone: 'ok', text: `The key “${k.name}” is revoked.` })
    } catch (err) {
      setMessage({ tone: 'danger', text: errorText(err) })
    } finally {
      reload()
    }
  }

  return (
    <section>
      <header class="content-head">
        <h1>API keys</h1>
      </header>
      {created && (
        <ShownOnce
          key={created.key}
          testid="apikey-created"
          valueTestid="apikey-value"
          value={created.key}
          onDone={() => setCreated(undefined)}
        >
          The key <strong class="break">{created.name}</strong>. Copy it now and store it safely:{' '}
          <strong>you will not see it again</strong>, since only its hash is kept.
        </ShownOnce>
      )}
      <form class="panel form-narrow" onSubmit={create} data-testid="apikey-form">
        <h2>New key</h2>
        <div class="field">
          <label for="apikey-name">Name</label>
          <input id="apikey-name" name="name" required maxLength={100} placeholder="CRM sync" />
        </div>
        <div class="field">
          <label for="apikey-role">Role</label>
          <select id="apikey-role" name="role">
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="apikey-days">Expires after (days)</label>
          <input id="apikey-days" name="days" type="number" min={1} max={3650} step={1} />
          <span class="hint">Empty: the key works until it is revoked.</span>
        </div>
        <div class="field">
          <label for="apikey-campaigns">Campaigns</label>
          <select
            id="apikey-campaigns"
            name="campaigns"
            multiple
            size={Math.min(6, Math.max(2, choices.length))}
            disabled={campaigns.state !== 'ready'}
            aria-busy={campaigns.state === 'loading' || undefined}
          >
            {choices.map((c) => (
              <option key={c.slug} value={c.slug}>
                {c.title} ({c.slug})
              </option>
            ))}
          </select>
          <span class="hint">None picked: every campaign. Ctrl- or ⌘-click picks several.</span>
          {campaigns.state === 'loading' && <span class="hint">Loading campaigns…</span>}
          {campaigns.state === 'error' && (
            <span class="hint" role="alert">
              Campaigns could not be read ({errorText(campaigns.error)}): a key made now is for every
              campaign.
            </span>
          )}
        </div>
        {/* Not before the campaigns are read: an empty picker made a key for every campaign. */}
        <button
          class="btn btn-primary"
          type="submit"
          disabled={work.pending || campaigns.state === 'loading'}
        >
          Create key
        </button>
      </form>
      {message && (
        <p
          class="notice"
          data-tone={message.tone === 'danger' ? 'danger' : undefined}
          role={message.tone === 'danger' ? 'alert' : 'status'}
          data-testid="apikeys-message"
        >
          {message.text}
        </p>
      )}
      <div class="panel">
        <div class="toolbar">
          <FilterSelect
            id="apikeys-status"
            label="Status"
            value={status}
            options={STATUSES}
            onPick={setStatus}
          />
        </div>
        <LoadView value={keys} what="API keys">
          {(d) => (
            <DataTable
              label="API keys"
              testid="apikeys-table"
              columns={keyColumns(revoke)}
              rows={status ? d.keys.filter((k) => k.status === status) : d.keys}
              rowKey={(k) => k.id}
              rowAttrs={(k) => ({ 'data-key-id': k.id, 'data-status': k.status })}
              empty={status ? `No ${status} keys.` : 'No API keys yet.'}
              emptyTestid="apikeys-empty"
            />
          )}
        </LoadView>
      </div>
    </section>
  )
}
