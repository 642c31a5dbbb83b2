import { useEffect, useRef, useState } from 'preact/hooks'
import { OvasabiError } from '../../../client/index.js'
import { adminClient, type Credential, signInClient, storedCredential } from './api.js'
import { Alert, LoginCard, refusalText } from './LoginCard.js'
import { localTime } from './ui.js'

const CHECKING = 'Confirming your address…'
const CONFIRMED = 'Your address is confirmed.'
const INVALID =
  'This link no longer works: it expired (a link works for 24 hours), was used already, a newer one was sent, or your address changed since.'
const MISSING =
  'This page was opened without the token its link carries. Open the link from the mail as it was sent, all of it.'
const ASK_ELSEWHERE = 'Open the latest link you were mailed, or ask for a new one where you signed in.'
const SENT = 'A new link is on its way to your address. It works for 24 hours; earlier links no longer do.'
const ALREADY = 'Your address is already confirmed: there is nothing to send.'
const NO_MAIL = 'This server cannot send mail (no SMTP configured): ask an admin.'
const ENDED = 'Your sign-in has ended: sign in again to ask for a new link.'

type Outcome =
  | { state: 'checking' }
  | { state: 'confirmed'; at: string }
  | { state: 'invalid' }
  | { state: 'missing' }
  /** A rate limit or a failure on the way: the token is still held, so it can be sent again. */
  | { state: 'failed'; text: string }

/** A person's token this tab signed in to the console with, while it has not expired. */
function signedInPerson(): Credential | undefined {
  const c = storedCredential()
  if (c?.kind !== 'token') return undefined
  return c.expiresAt && Date.parse(c.expiresAt) <= Date.now() ? undefined : c
}

/**
 * "Confirm your email address", where a confirmation mail's link lands: shown whether or not this
 * tab is signed in, since the link may be opened in any browser. The token is sent as soon as the
 * page opens; a link the server no longer takes offers a new one to a person signed in here.
 */
export function VerifyEmail({ token }: { token: string | undefined }) {
  const [outcome, setOutcome] = useState<Outcome>(token ? { state: 'checking' } : { state: 'missing' })
  const said = useRef<HTMLParagraphElement>(null)
  // Read once, as the page opens: whether to offer a new link, and a way back to the console.
  const [signedIn] = useState(signedInPerson)
  const verify = async () => {
    if (!token) return
    setOutcome({ state: 'checking' })
    try {
      const r = await signInClient().users.verifyEmail({ token })
      setOutcome({ state: 'confirmed', at: r.email_verified_at })
    } catch (err) {
      setOutcome(
        err instanceof OvasabiError && err.code === 'INVALID_VERIFICATION_TOKEN'
          ? { state: 'invalid' }
          : { state: 'failed', text: refusalText(err) },
      )
    }
  }
  useEffect(() => {
    document.title = 'Confirm your email address · Ovasabi console'
    void verify()
  }, [])
  // What the server said replaces what was there: the keyboard (and a screen reader) moves to it.
  useEffect(() => {
    if (outcome.state !== 'checking') said.current?.focus()
  }, [outcome])

  return (
    <LoginCard>
      <section aria-labelledby="verify-title" data-testid="verify-email">
        <h1 class="login-title" id="verify-title">
          Confirm your email address
        </h1>
        {/* Present from the start, so the confirmation is read out when it arrives. */}
        <div role="status" data-testid="verify-status">
          {outcome.state === 'checking' && (
            <p class="notice" data-testid="verify-checking">
              {CHECKING}
            </p>
          )}
          {outcome.state === 'confirmed' && (
            <p ref={said} tabIndex={-1} class="notice" data-tone="ok" data-testid="verify-done">
              {CONFIRMED}
              <br />
              <span class="small">
                Confirmed on{' '}
                <time dateTime={outcome.at} data-testid="verify-date">
                  {localTime(outcome.at)}
                </time>
                .
              </span>
            </p>
          )}
        </div>
        {outcome.state === 'confirmed' && signedIn && <BackToConsole />}
        {(outcome.state === 'invalid' || outcome.state === 'missing') && (
          <>
            <p
              ref={said}
              tabIndex={-1}
              class="notice"
              data-tone="danger"
              role="alert"
              data-testid={outcome.state === 'invalid' ? 'verify-invalid' : 'verify-missing'}
            >
              {outcome.state === 'invalid' ? INVALID : MISSING}
            </p>
            <NewLink person={signedIn} />
          </>
        )}
        {outcome.state === 'failed' && (
          <>
            <p
              ref={said}
              tabIndex={-1}
              class="notice"
              data-tone="danger"
              role="alert"
              data-testid="verify-error"
            >
              {outcome.text}
            </p>
            <button class="btn btn-primary" type="button" onClick={() => void verify()}>
              Try again
            </button>
          </>
        )}
      </section>
    </LoginCard>
  )
}

/** The way back for someone this tab is signed in as. */
function BackToConsole() {
  return (
    <a class="login-link" href="/admin">
      Back to the console
    </a>
  )
}

/**
 * "Send a new link", for a person this tab is signed in as (the server mails their own address, so
 * it needs their token); anyone else is told where to ask.
 */
function NewLink({ person }: { person: Credential | undefined }) {
  const [pending, setPending] = useState(false)
  const [done, setDone] = useState<string>()
  const [error, setError] = useState<string>()
  const [ended, setEnded] = useState(false)
  if (!person)
    return (
      <p class="hint login-lead" data-testid="verify-ask-elsewhere">
        {ASK_ELSEWHERE}
      </p>
    )

  const send = async (signedIn: Credential) => {
    setPending(true)
    setError(undefined)
    try {
      const r = await adminClient(signedIn).users.requestEmailVerification()
      setDone(r.status === 'already_verified' ? ALREADY : SENT)
    } catch (err) {
      // A token refused (expired, signed out elsewhere) asks nothing more of this page: only a sign-in.
      const refused = err instanceof OvasabiError && err.status === 401
      setEnded(refused)
      if (refused) setError(ENDED)
      else if (err instanceof OvasabiError && err.code === 'MAIL_UNAVAILABLE') setError(NO_MAIL)
      else setError(refusalText(err))
    } finally {
      setPending(false)
    }
  }

  return (
    <>
      {/* Present from the start, so what the server said is read out when it arrives. */}
      <div role="status" data-testid="verify-resend-status">
        {done && (
          <p class="notice" data-tone="ok">
            {done}
          </p>
        )}
      </div>
      <Alert text={error} testid="verify-resend-error" />
      {!done && !ended && (
        <button class="btn btn-primary" type="button" disabled={pending} onClick={() => void send(person)}>
          Send a new link
        </button>
      )}
      <BackToConsole />
    </>
  )
}
