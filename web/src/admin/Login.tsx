import { useEffect, useRef, useState } from 'preact/hooks'
import {
  adminClient,
  type Credential,
  errorText,
  mayUseConsole,
  signInClient,
  storeCredential,
} from './api.js'
import { ForgotPassword } from './ForgotPassword.js'
import { Alert, LoginCard } from './LoginCard.js'
import { FORGOT_PASSWORD_PATH } from './route.js'

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
 * accepts it. A person or key without a console role is told so; nothing is kept for them. A person
 * who forgot their password asks for a link to choose a new one (`ForgotPassword`).
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
  // The reset page sends someone whose link no longer works here, to ask for a new one.
  const [forgot, setForgot] = useState(() => location.pathname === FORGOT_PASSWORD_PATH)
  // Kept across the two forms, so the address is typed once.
  const [email, setEmail] = useState('')
  // That address only opened the form: the sign-in's own is /admin (what a reload should show).
  useEffect(() => {
    if (location.pathname === FORGOT_PASSWORD_PATH) history.replaceState(null, '', '/admin')
  }, [])
  // Back from the forgot form, the keyboard is where it left (the forms were replaced under it).
  const forgotLink = useRef<HTMLButtonElement>(null)
  const wasForgot = useRef(forgot)
  useEffect(() => {
    if (wasForgot.current && !forgot) forgotLink.current?.focus()
    wasForgot.current = forgot
  }, [forgot])

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

  if (forgot)
    return (
      <LoginCard>
        <ForgotPassword email={email} onEmail={setEmail} onBack={() => setForgot(false)} />
      </LoginCard>
    )

  return (
    <LoginCard>
      {!tried && signedOut && signedOut !== 'no-role' && (
        <p class="notice" data-tone="warn" role="status" data-testid={signedOut}>
          {signedOut === 'key-refused' ? REFUSED : signedOut === 'session-expired' ? EXPIRED : ENDED}
        </p>
      )}
      <Alert text={noRole ? NO_ROLE : undefined} testid="no-console-role" />
      <form onSubmit={withPassword} data-testid="password-form">
        <div class="field">
          <label for="login-email">Email</label>
          <input
            id="login-email"
            name="email"
            type="email"
            autocomplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
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
      <button ref={forgotLink} class="login-link" type="button" onClick={() => setForgot(true)}>
        Forgot your password?
      </button>
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
            Create one with <code>ovasabi apikey create --role admin --name me</code>. Kept for this tab only.
          </span>
        </div>
        <Alert text={keyError} />
        <button class="btn btn-soft" type="submit" disabled={pending}>
          Sign in with the key
        </button>
      </form>
    </LoginCard>
  )
}
