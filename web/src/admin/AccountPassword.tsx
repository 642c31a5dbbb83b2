import { useState } from 'preact/hooks'
import { type AuthResult, type OvasabiClient, OvasabiError } from '../../../client/index.js'
import { Alert, refusalText } from './LoginCard.js'
import { NewPasswordFields, passwordsDiffer, weaknesses } from './NewPasswordFields.js'
import { useOneAtATime } from './one-at-a-time.js'

const WRONG = 'The current password is wrong.'
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
  const work = useOneAtATime()
  const [wrong, setWrong] = useState(false)
  const [mismatch, setMismatch] = useState(false)
  const [weak, setWeak] = useState<string[]>()
  const [error, setError] = useState<string>()
  const [changed, setChanged] = useState(false)

  const change = async (e: Event) => {
    e.preventDefault()
    if (work.busy()) return
    const form = e.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const password = String(data.get('password') ?? '')
    setWrong(false)
    setWeak(undefined)
    setError(undefined)
    setChanged(false)
    const differ = passwordsDiffer(data)
    setMismatch(differ)
    if (differ) return
    await work.run(async () => {
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
      }
    })
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
      <NewPasswordFields prefix="account" weak={weak} mismatch={mismatch} />
      <Alert text={error} testid="account-password-error" />
      {changed && (
        <p class="notice" data-tone="ok" role="status" data-testid="account-password-done">
          {CHANGED}
        </p>
      )}
      <button class="btn btn-primary" type="submit" disabled={work.pending}>
        Change the password
      </button>
    </form>
  )
}
