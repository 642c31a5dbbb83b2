import { useState } from 'preact/hooks'
import { Logo } from '../shared/Logo.js'
import { adminClient, errorText, storeKey } from './api.js'

const REFUSED =
  'The server refused this API key: it was revoked, or the server’s keys changed. Sign in with a new key.'

/** Asks for an admin API key and keeps it for this tab once the server accepts it. */
export function Login({ onKey, refused }: { onKey: (key: string) => void; refused: boolean }) {
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
