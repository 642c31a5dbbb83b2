import { useState } from 'preact/hooks'
import { type Me, type OvasabiClient, OvasabiError } from '../../../client/index.js'
import { NOT_SET } from './AccountPassword.js'
import { Alert, refusalText } from './LoginCard.js'
import { localTime } from './ui.js'
import { useOneAtATime } from './one-at-a-time.js'

/** What a refusal of a change of address says, by its code; any other, as every refusal is said. */
const REFUSED: Record<string, string> = {
  WRONG_PASSWORD: 'The password is wrong.',
  EMAIL_TAKEN: 'Another account has this address: choose another.',
  EMAIL_UNCHANGED: 'This is already your address.',
  PASSWORD_NOT_SET: NOT_SET,
}

/**
 * "Your account"'s address card: the address, whether it is confirmed (a link to confirm it mailed
 * on asking), and a change of address: the new one and the password, then a link mailed to the
 * new one makes it the account's. Until it is opened nothing changes, which the card says.
 */
export function EmailCard({ client, user }: { client: OvasabiClient; user: NonNullable<Me['user']> }) {
  const work = useOneAtATime()
  const [sentTo, setSentTo] = useState<string>()
  const [error, setError] = useState<string>()
  const [confirming, setConfirming] = useState<'sent' | 'already_verified'>()
  const [confirmError, setConfirmError] = useState<string>()

  const change = async (e: Event) => {
    e.preventDefault()
    if (work.busy()) return
    const form = e.currentTarget as HTMLFormElement
    const data = new FormData(form)
    setError(undefined)
    setSentTo(undefined)
    await work.run(async () => {
      try {
        const sent = await client.users.changeEmail({
          email: String(data.get('email') ?? ''),
          current_password: String(data.get('current') ?? ''),
        })
        form.reset()
        setSentTo(sent.email)
      } catch (err) {
        const code = err instanceof OvasabiError ? err.code : undefined
        setError((code && REFUSED[code]) ?? refusalText(err))
      }
    })
  }

  const sendConfirmation = async () => {
    setConfirmError(undefined)
    try {
      setConfirming((await client.users.requestEmailVerification()).status)
    } catch (err) {
      setConfirmError(refusalText(err))
    }
  }

  return (
    <form
      class="panel form-narrow account"
      onSubmit={change}
      aria-labelledby="email-title"
      data-testid="account-address"
    >
      <h2 id="email-title">Email address</h2>
      <p data-testid="account-email">
        <span class="break">{user.email || 'none'}</span>{' '}
        {user.email_verified_at ? (
          <span
            class="badge"
            data-tone="ok"
            title={`Confirmed ${localTime(user.email_verified_at)}`}
            data-testid="email-confirmed"
          >
            confirmed
          </span>
        ) : (
          <span class="badge" title="You have not confirmed this address" data-testid="email-unconfirmed">
            not confirmed
          </span>
        )}
      </p>
      {!user.email_verified_at && confirming === undefined && (
        <p>
          <button
            class="btn btn-sm btn-soft"
            type="button"
            onClick={sendConfirmation}
            data-testid="send-confirmation"
          >
            Send a link to confirm it
          </button>
        </p>
      )}
      {confirming && (
        <p class="notice" data-tone="ok" role="status" data-testid="confirmation-sent">
          {confirming === 'sent'
            ? `A link was sent to ${user.email}: open it to confirm the address.`
            : 'This address is confirmed already.'}
        </p>
      )}
      <Alert text={confirmError} testid="confirmation-error" />
      <div class="field">
        <label for="account-new-email">New address</label>
        <input
          id="account-new-email"
          name="email"
          type="email"
          autocomplete="email"
          required
          maxLength={254}
          spellcheck={false}
        />
        <span class="hint">A link is mailed to it: your address changes once you open it.</span>
      </div>
      <div class="field">
        <label for="account-email-password">Your password</label>
        <input
          id="account-email-password"
          name="current"
          type="password"
          autocomplete="current-password"
          required
        />
      </div>
      <Alert text={error} testid="account-address-error" />
      {sentTo && (
        <p class="notice" data-tone="ok" role="status" data-testid="account-address-sent">
          A link was sent to <span class="break">{sentTo}</span>: open it to make it your address. Until then
          you sign in with {user.email}.
        </p>
      )}
      <button class="btn btn-primary" type="submit" disabled={work.pending}>
        Change the address
      </button>
    </form>
  )
}
