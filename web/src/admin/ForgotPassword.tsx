import { useEffect, useRef, useState } from 'preact/hooks'
import { OvasabiError } from '../../../client/index.js'
import { signInClient } from './api.js'
import { Alert, refusalText } from './LoginCard.js'

const SENT =
  'If an account has this email, a link to choose a new password is on its way. It works for 30 minutes.'
const NO_MAIL = 'This server cannot send mail (no SMTP configured): ask an admin to set your password.'

/**
 * "Forgot your password?": asks the server to mail a link to choose a new one. The answer is the
 * same whether or not an account has the address (the server tells no one which do), so the page
 * says only that a link is on its way if there is one.
 */
export function ForgotPassword({
  email,
  onEmail,
  onBack,
}: {
  /** What the sign-in form's email field held, so it need not be typed again. */
  email: string
  onEmail: (email: string) => void
  onBack: () => void
}) {
  const [pending, setPending] = useState(false)
  const [sent, setSent] = useState(false)
  const [error, setError] = useState<string>()
  const field = useRef<HTMLInputElement>(null)
  const back = useRef<HTMLButtonElement>(null)
  // The form replaced the sign-in forms under the pointer: the keyboard starts where typing does.
  useEffect(() => field.current?.focus(), [])
  // Once sent the form goes: focus would fall to the page, so it moves to the way back.
  useEffect(() => {
    if (sent) back.current?.focus()
  }, [sent])

  async function send(e: Event) {
    e.preventDefault()
    setPending(true)
    setError(undefined)
    try {
      await signInClient().users.forgotPassword({ email: email.trim() })
      setSent(true)
    } catch (err) {
      setError(err instanceof OvasabiError && err.code === 'MAIL_UNAVAILABLE' ? NO_MAIL : refusalText(err))
    } finally {
      setPending(false)
    }
  }

  return (
    <section aria-labelledby="forgot-title" data-testid="forgot-password">
      <h1 class="login-title" id="forgot-title">
        Forgot your password?
      </h1>
      {/* Present from the start, so the confirmation is read out when it arrives. */}
      <div role="status" data-testid="forgot-status">
        {sent && (
          <p class="notice" data-tone="ok">
            {SENT}
          </p>
        )}
      </div>
      {!sent && (
        <form onSubmit={send} data-testid="forgot-form">
          <p class="hint login-lead" id="forgot-hint">
            We mail you a link to choose a new one.
          </p>
          <div class="field">
            <label for="forgot-email">Email</label>
            <input
              ref={field}
              id="forgot-email"
              name="email"
              type="email"
              autocomplete="username"
              required
              aria-describedby="forgot-hint"
              value={email}
              onInput={(e) => onEmail(e.currentTarget.value)}
            />
          </div>
          <Alert text={error} testid="forgot-error" />
          <button class="btn btn-primary" type="submit" disabled={pending}>
            Send the link
          </button>
        </form>
      )}
      <button ref={back} class="login-link" type="button" onClick={onBack}>
        Back to sign in
      </button>
    </section>
  )
}
