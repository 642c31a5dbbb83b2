import { useRef, useState } from 'preact/hooks'
import { type AuthResult, type OvasabiClient, OvasabiError } from '../../../client/index.js'
import { Alert, refusalText } from './LoginCard.js'
import { weaknesses } from './ResetPassword.js'

const WRONG = 'The current password is wrong.'
const MISMATCH = 'The two new passwords differ: type the same one in both fields.'
export const NOT_SET =
  'This account has no password yet. To set one, sign out and use “Forgot your password?” on the ' +
  'sign-in page: a link to choose one is mailed to you.'
const CHANGED = 'Password changed; your other devices are signed out.'

/**
 * "Your account"'s password card: the current password, the new one twice. A change ends every
 * session of the person, this one too; `onNewToken` hears the answer's token, the console's from
 * then on.
 */
export function PasswordCard(props: {
  client: OvasabiClient
  email: string
  onNewToken: (auth: AuthResult) => void
}) {
  const [pending, setPending] = useState(false)
  const [wrong, setWrong] = useState(false)
  const [mismatch, setMismatch] = useState(false)
  const [weak, setWeak] = useState<string[]>()
  const [error, setError] = useState<string>()
  const [changed, setChanged] = useState(false)
  const busy = useRef(false)

  const change = async (e: Event) => {
    e.preventDefault()
    if (busy.current) return
    const form = e.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const password = String(data.get('password') ?? '')
    setWrong(false)
    setWeak(undefined)
    setError(undefined)
    setChanged(false)
    // Refused here: a typo in a password no one can see would lock the person out of every device.
    const differ = password !== String(data.get('confirm') ?? '')
    setMismatch(differ)
    if (differ) return
    busy.current = true
    setPending(true)
    try {
      const auth = await props.client.users.changePassword({
        current_password: String(data.get('current') ?? ''),
        password,
      })
      // The old token is refused from now on: the console goes on with the new one.
      props.onNewToken(auth)
      form.reset()
      setChanged(true)
    } catch (err) {
      const code = err instanceof OvasabiError ? err.code : undefined
      if (code === 'WRONG_PASSWORD') setWrong(true)
      else if (code === 'WEAK_PASSWORD') setWeak(weaknesses(err as OvasabiError))
      else if (code === 'PASSWORD_NOT_SET') setError(NOT_SET)
      else setError(refusalText(err))
    } finally {
      busy.current = false
      setPending(false)
    }
  }

  return (
    <form
      class="panel form-narrow account"
      onSubmit={change}
      aria-labelledby="password-title"
      data-testid="account-password"
    >
      <h2 id="password-title">Password</h2>
      <p class="muted">Changing it signs you out on your other devices; this console stays signed in.</p>
      {/* For password managers, which file the new password under this address. */}
      <input type="email" name="username" autocomplete="username" value={props.email} readOnly hidden />
      <div class="field">
        <label for="account-current">Current password</label>
        <input
          id="account-current"
          name="current"
          type="password"
          autocomplete="current-password"
          required
          aria-invalid={wrong ? 'true' : undefined}
          aria-describedby={wrong ? 'account-wrong' : undefined}
        />
      </div>
      {wrong && (
        <p class="notice" data-tone="danger" role="alert" id="account-wrong" data-testid="account-wrong">
          {WRONG}
        </p>
      )}
      <div class="field">
        <label for="account-new">New password</label>
        <input
          id="account-new"
          name="password"
          type="password"
          autocomplete="new-password"
          required
          aria-invalid={weak ? 'true' : undefined}
          aria-describedby={weak ? 'account-new-hint account-weak' : 'account-new-hint'}
        />
        <span class="hint" id="account-new-hint">
          At least 10 characters, with a letter and a digit or a symbol.
        </span>
      </div>
      {weak && (
        <div class="notice" data-tone="danger" role="alert" id="account-weak" data-testid="account-weak">
          <p>This password is too easy to guess. A new password:</p>
          <ul class="login-issues">
            {weak.map((reason) => (
              <li key={reason}>{reason}</li>
            ))}
          </ul>
        </div>
      )}
      <div class="field">
        <label for="account-confirm">New password again</label>
        <input
          id="account-confirm"
          name="confirm"
          type="password"
          autocomplete="new-password"
          required
          aria-invalid={mismatch ? 'true' : undefined}
          aria-describedby={mismatch ? 'account-mismatch' : undefined}
        />
      </div>
      {mismatch && (
        <p
          class="notice"
          data-tone="danger"
          role="alert"
          id="account-mismatch"
          data-testid="account-mismatch"
        >
          {MISMATCH}
        </p>
      )}
      <Alert text={error} testid="account-password-error" />
      {changed && (
        <p class="notice" data-tone="ok" role="status" data-testid="account-password-done">
          {CHANGED}
        </p>
      )}
      <button class="btn btn-primary" type="submit" disabled={pending}>
        Change the password
      </button>
    </form>
  )
}
