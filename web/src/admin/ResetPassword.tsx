import { useEffect, useRef, useState } from 'preact/hooks'
import { OvasabiError } from '../../../client/index.js'
import { signInClient } from './api.js'
import { Alert, LoginCard, refusalText } from './LoginCard.js'
import { NewPasswordFields, passwordsDiffer, weaknesses } from './NewPasswordFields.js'
import { FORGOT_PASSWORD_PATH } from './route.js'

const INVALID =
  'This link is no longer valid (it expired, was used, or a newer one was sent). Ask for a new one.'
const CHANGED = 'Your password is changed. Sign in with it.'

/**
 * "Choose a new password", where a reset mail's link lands: shown whether or not this tab is signed
 * in, since the person has no working password. Once changed, every sign-in of theirs has ended and
 * they sign in again; a link the server no longer takes sends them to ask for a new one.
 */
export function ResetPassword({ token }: { token: string | undefined }) {
  const [outcome, setOutcome] = useState<'choosing' | 'changed' | 'invalid'>(token ? 'choosing' : 'invalid')
  const [pending, setPending] = useState(false)
  const [mismatch, setMismatch] = useState(false)
  const [weak, setWeak] = useState<string[]>()
  const [error, setError] = useState<string>()
  const said = useRef<HTMLParagraphElement>(null)
  useEffect(() => {
    document.title = 'Choose a new password · Ovasabi console'
  }, [])
  // The form is gone once the answer comes: the keyboard (and a screen reader) moves to what it says.
  useEffect(() => {
    if (outcome !== 'choosing') said.current?.focus()
  }, [outcome])

  async function submit(e: Event) {
    e.preventDefault()
    const data = new FormData(e.currentTarget as HTMLFormElement)
    const password = String(data.get('password') ?? '')
    setError(undefined)
    setWeak(undefined)
    const differ = passwordsDiffer(data)
    setMismatch(differ)
    if (differ || !token) return
    setPending(true)
    try {
      await signInClient().users.resetPassword({ token, password })
      setOutcome('changed')
    } catch (err) {
      if (err instanceof OvasabiError && err.code === 'INVALID_RESET_TOKEN') setOutcome('invalid')
      else if (err instanceof OvasabiError && err.code === 'WEAK_PASSWORD') setWeak(weaknesses(err))
      else setError(refusalText(err))
    } finally {
      setPending(false)
    }
  }

  return (
    <LoginCard>
      <section aria-labelledby="reset-title" data-testid="reset-password">
        <h1 class="login-title" id="reset-title">
          Choose a new password
        </h1>
        {outcome === 'invalid' && (
          <>
            <p
              ref={said}
              tabIndex={-1}
              class="notice"
              data-tone="danger"
              role="alert"
              data-testid="reset-invalid"
            >
              {INVALID}
            </p>
            <div class="login-actions">
              <a class="btn btn-primary" href={FORGOT_PASSWORD_PATH}>
                Ask for a new link
              </a>
              <a class="login-link" href="/admin">
                Back to sign in
              </a>
            </div>
          </>
        )}
        {outcome === 'changed' && (
          <>
            <p ref={said} tabIndex={-1} class="notice" data-tone="ok" role="status" data-testid="reset-done">
              {CHANGED}
            </p>
            <a class="btn btn-primary" href="/admin">
              Sign in
            </a>
          </>
        )}
        {outcome === 'choosing' && (
          <form onSubmit={submit} data-testid="reset-form">
            <NewPasswordFields prefix="reset" weak={weak} mismatch={mismatch} />
            <Alert text={error} testid="reset-error" />
            <button class="btn btn-primary" type="submit" disabled={pending}>
              Change the password
            </button>
          </form>
        )}
      </section>
    </LoginCard>
  )
}
