import { useState } from 'preact/hooks'
import { Logo } from '../shared/Logo.js'
import {
  adminClient,
  type Credential,
  errorText,
  mayUseConsole,
  signInClient,
  storeCredential,
} from './api.js'

const REFUSED =
  'The server refused this API key: it was revoked, or the server’s keys changed. Sign in with a new key.'
const ENDED = 'Your sign-in ended: it expired, you signed out elsewhere, or your role changed. Sign in again.'
const EXPIRED = 'Your sign-in reached the longest a session may last. Sign in again.'
const NO_ROLE =
  'This account has no console role. An admin can make you an editor or an admin ' +
  '(ovasabi user role --email … --role editor), then sign in again.'

/**
 * Why the sign-in form is shown again: the key was refused, a person's token ended, or their
 * session reached its maximum age (a renewal refused with `SESSION_EXPIRED`).
 */
export type SignedOut = 'key-refused' | 'session-ended' | 'session-expired' | 'no-role'

/**
 * Signs in with a person's email and password (the default: their role, editor or admin, is what
 * the console may do) or with an API key, and keeps the credential for this tab once the server
 * accepts it. A person or key without a console role is told so; nothing is kept for them.
 */
export function Login({
  onSignedIn,
  signedOut,
}: {
  onSignedIn: (credential: Credential) => void
  signedOut?: SignedOut
}) {
  const [passwordError, setPasswordError] = useState<string>()
  const [keyError, setKeyError] = useState<string>()
  const [noRole, setNoRole] = useState(signedOut === 'no-role')
  const [pending, setPending] = useState(false)
  // Why the last sign-in ended is said until the next attempt.
  const [tried, setTried] = useState(false)

  /** The credential's roles decide: one that may not use the console is not kept. */
  async function admit(credential: Credential): Promise<boolean> {
    const client = adminClient(credential)
    const me = await client.auth.me()
    if (mayUseConsole(me.roles)) {
      storeCredential(credential)
      onSignedIn(credential)
      return true
    }
    // A person's token made only to be refused: end its session rather than leave it working.
    if (credential.kind === 'token') await client.users.logout().catch(() => {})
    setNoRole(true)
    return false
  }

  async function attempt(
    form: HTMLFormElement,
    run: (data: FormData) => Promise<void>,
    onError: typeof setKeyError,
  ) {
    setPending(true)
    setTried(true)
    setPasswordError(undefined)
    setKeyError(undefined)
    setNoRole(false)
    try {
      await run(new FormData(form))
    } catch (err) {
      onError(errorText(err))
    } finally {
      setPending(false)
    }
  }

  function withPassword(e: Event) {
    e.preventDefault()
    void attempt(
      e.currentTarget as HTMLFormElement,
      async (data) => {
        const email = String(data.get('email') ?? '').trim()
        const password = String(data.get('password') ?? '')
        const auth = await signInClient().users.login({ email, password })
        await admit({ kind: 'token', token: auth.token, expiresAt: auth.expires_at })
      },
      setPasswordError,
    )
  }

  function withKey(e: Event) {
    e.preventDefault()
    void attempt(
      e.currentTarget as HTMLFormElement,
      async (data) => {
        await admit({ kind: 'key', key: String(data.get('key') ?? '').trim() })
      },
      setKeyError,
    )
  }

  return (
    <main class="login">
      <div class="login-card">
        <div class="login-brand">
          <Logo />
          <span>Ovasabi console</span>
        </div>
        {!tried && signedOut && signedOut !== 'no-role' && (
          <p class="notice" data-tone="warn" role="status" data-testid={signedOut}>
            {signedOut === 'key-refused' ? REFUSED : signedOut === 'session-expired' ? EXPIRED : ENDED}
          </p>
        )}
        <Alert text={noRole ? NO_ROLE : undefined} testid="no-console-role" />
        <form onSubmit={withPassword} data-testid="password-form">
          <div class="field">
            <label for="login-email">Email</label>
            <input id="login-email" name="email" type="email" autocomplete="username" required />
          </div>
          <div class="field">
            <label for="login-password">Password</label>
            <input
              id="login-password"
              name="password"
              type="password"
              autocomplete="current-password"
              required
            />
          </div>
          <Alert text={passwordError} />
          <button class="btn btn-primary" type="submit" disabled={pending}>
            Sign in
          </button>
        </form>
        <p class="login-or">or with an API key</p>
        <form onSubmit={withKey} data-testid="login-form">
          <div class="field">
            <label for="api-key">API key</label>
            <input
              id="api-key"
              name="key"
              type="password"
              autocomplete="off"
              placeholder="ovs_…"
              required
              aria-describedby="api-key-hint"
            />
            <span class="hint" id="api-key-hint">
              Create one with <code>ovasabi apikey create --role admin --name me</code>. Kept for this tab
              only.
            </span>
          </div>
          <Alert text={keyError} />
          <button class="btn btn-soft" type="submit" disabled={pending}>
            Sign in with the key
          </button>
        </form>
      </div>
    </main>
  )
}

/** A refusal, read out as it appears; nothing without `text`. */
function Alert({ text, testid }: { text: string | undefined; testid?: string }) {
  if (!text) return null
  return (
    <p class="notice" data-tone="danger" role="alert" data-testid={testid}>
      {text}
    </p>
  )
}
