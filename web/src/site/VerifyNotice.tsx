import { useEffect, useRef, useState } from 'preact/hooks'
import { type OvasabiClient, OvasabiError } from '../../../client/index.js'
import { useI18n } from './i18n.js'

/** Where a confirmation mailed at a join points: this campaign's page, the token after `#verify=`. */
const VERIFY_FRAGMENT = /^#verify=([A-Za-z0-9_-]{16,200})$/

type State = 'checking' | 'confirmed' | 'invalid' | 'failed'

/**
 * The token a mailed link brought, taken out of the address bar at once: it works once, and a
 * page shared or bookmarked from here must not carry it.
 */
function takeToken(): string | undefined {
  const token = VERIFY_FRAGMENT.exec(location.hash)?.[1]
  if (token) history.replaceState(history.state, '', location.pathname + location.search)
  return token
}

/**
 * "Your email address is confirmed", on the campaign page a confirmation link opened (mailed at a
 * join with the campaign's `verify_email_at_join`): the token is sent as the page opens, whether
 * or not this browser is the one that joined. A refusal that may pass (a rate limit, the network)
 * offers to try again; a link that no longer works says so. `onConfirmed` follows a confirmation.
 */
export function VerifyNotice({ client, onConfirmed }: { client: OvasabiClient; onConfirmed: () => void }) {
  const { t } = useI18n()
  const [token] = useState(takeToken)
  const [state, setState] = useState<State | undefined>(token ? 'checking' : undefined)
  const said = useRef<HTMLParagraphElement>(null)
  const verify = async () => {
    if (!token) return
    setState('checking')
    try {
      await client.users.verifyEmail({ token })
      setState('confirmed')
      onConfirmed()
    } catch (err) {
      setState(
        err instanceof OvasabiError && err.code === 'INVALID_VERIFICATION_TOKEN' ? 'invalid' : 'failed',
      )
    }
  }
  useEffect(() => {
    void verify()
  }, [])
  // What the server said is where the keyboard (and a screen reader) goes.
  useEffect(() => {
    if (state && state !== 'checking') said.current?.focus()
  }, [state])
  if (!state) return null
  const refused = state === 'invalid' || state === 'failed'
  return (
    <div class="verify-notice" data-testid="verify-notice" data-state={state}>
      <p
        class="notice"
        ref={said}
        tabIndex={-1}
        role={refused ? 'alert' : 'status'}
        {...(refused ? { 'data-tone': 'danger' } : state === 'confirmed' ? { 'data-tone': 'ok' } : {})}
      >
        {t(`verify.${state}`)}
      </p>
      {state === 'failed' && (
        <button class="btn btn-ghost on-dark" type="button" onClick={() => void verify()}>
          {t('verify.retry')}
        </button>
      )}
    </div>
  )
}
