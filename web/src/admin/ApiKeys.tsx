import { useRef, useState } from 'preact/hooks'
import type {
  ApiKeyInput,
  ApiKeySummary,
  Campaign,
  CreatedApiKey,
  OvasabiClient,
} from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { FilterSelect, LoadView, localTime, ShownOnce } from './ui.js'

const ROLES: readonly ApiKeyInput['role'][] = ['participant', 'editor', 'admin']
const STATUSES: readonly ApiKeySummary['status'][] = ['active', 'revoked', 'expired']
const DAY_SECONDS = 24 * 3600
/** The key from configuration: its setting decides it, so the API refuses to revoke it (409 `CONFIGURED_API_KEY`). */
const CONFIGURED_KEY_NAME = 'OVASABI_ADMIN_KEY'

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
export function ApiKeys({ client, campaigns }: { client: OvasabiClient; campaigns: readonly Campaign[] }) {
  const [status, setStatus] = useState('')
  const [keys, reload] = useLoad(() => client.apiKeys.list(), [client])
  const [message, setMessage] = useState<{ tone: 'danger' | 'ok'; text: string }>()
  const [created, setCreated] = useState<CreatedApiKey>()
  const [pending, setPending] = useState(false)
  const busy = useRef(false)

  const create = async (e: Event) => {
    e.preventDefault()
    if (busy.current) return
    const form = e.currentTarget as HTMLFormElement
    const input = keyInput(form)
    if (typeof input === 'string') return setMessage({ tone: 'danger', text: input })
    busy.current = true
    setPending(true)
    setMessage(undefined)
    try {
      setCreated(await client.apiKeys.create(input))
      form.reset()
      reload()
    } catch (err) {
      setMessage({ tone: 'danger', text: errorText(err) })
    } finally {
      busy.current = false
      setPending(false)
    }
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
            size={Math.min(6, Math.max(2, campaigns.length))}
          >
            {campaigns.map((c) => (
              <option key={c.slug} value={c.slug}>
                {c.title} ({c.slug})
              </option>
            ))}
          </select>
          <span class="hint">None picked: every campaign. Ctrl- or ⌘-click picks several.</span>
        </div>
        <button class="btn btn-primary" type="submit" disabled={pending}>
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
          {(d) => {
            const shown = status ? d.keys.filter((k) => k.status === status) : d.keys
            return shown.length === 0 ? (
              <p class="muted" data-testid="apikeys-empty">
                {status ? `No ${status} keys.` : 'No API keys yet.'}
              </p>
            ) : (
              <div class="table-wrap">
                <table class="table" data-testid="apikeys-table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Role</th>
                      <th scope="col">Campaigns</th>
                      <th scope="col">Status</th>
                      <th scope="col">Created</th>
                      <th scope="col">Last used</th>
                      <th scope="col">Expires</th>
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((k) => (
                      <tr key={k.id} data-key-id={k.id} data-status={k.status}>
                        <td>
                          <span class="clip" dir="auto" title={k.name}>
                            {k.name}
                          </span>
                        </td>
                        <td class="nowrap">{k.role}</td>
                        <td class="campaigns">{k.campaigns ? k.campaigns.join(', ') : 'all campaigns'}</td>
                        <td class="status nowrap">{k.status}</td>
                        <td class="nowrap">{localTime(k.created_at)}</td>
                        <td class="nowrap">{k.last_used_at ? localTime(k.last_used_at) : 'never'}</td>
                        <td class="nowrap">{k.expires_at ? localTime(k.expires_at) : 'never'}</td>
                        <td>
                          {k.name === CONFIGURED_KEY_NAME ? (
                            <span class="muted" title="Rotate it by its setting, OVASABI_ADMIN_KEY">
                              configured
                            </span>
                          ) : (
                            k.status === 'active' && (
                              <button
                                class="btn btn-soft btn-sm"
                                type="button"
                                onClick={() => void revoke(k)}
                              >
                                Revoke
                              </button>
                            )
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }}
        </LoadView>
      </div>
    </section>
  )
}
