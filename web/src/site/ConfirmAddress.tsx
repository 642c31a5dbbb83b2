import { useEffect, useState } from 'preact/hooks'
import type { OvasabiClient } from '../../../client/index.js'
import { addressConfirmed, type StoredUser, settleConfirming } from '../shared/session.js'
import { FormStatus } from './FormStatus.js'
import { useSubmit } from './forms.js'
import { useI18n } from './i18n.js'

/**
 * Under the welcome, after a join that mailed a link to confirm the address (the campaign's
 * `verify_email_at_join`): where it went, and "Send the link again" for a mail that never came. A
 * new link opens this page too, and only the newest works; the server's limit (3 an hour) shows
 * as the forms' 429 does, with the button held until it passes. Shown again after a reload (the
 * address is stored with the person) until the page learns the address is confirmed: opening the
 * page asks the server, and a confirmation this page makes (`VerifyNotice`) ends it too.
 */
export function ConfirmAddress(props: {
  client: OvasabiClient
  campaign: string
  /** The person who joined, and the address the link went to. */
  person: string
  email: string
  /** The address was confirmed elsewhere since: the stored person without it. */
  onConfirmed: (user: StoredUser) => void
}) {
  const { t } = useI18n()
  const { state, run } = useSubmit(props.client)
  const [answer, setAnswer] = useState<'sent' | 'already_verified'>()
  useEffect(() => {
    void settleConfirming(props.client).then((user) => user && props.onConfirmed(user))
  }, [])

  async function resend(e: Event) {
    e.preventDefault()
    const res = await run(() => props.client.users.requestEmailVerification({ campaign: props.campaign }))
    if (!res) return
    setAnswer(res.status)
    // Said here until the page is left; not offered again after that.
    if (res.status === 'already_verified') addressConfirmed(props.person)
  }

  const said =
    answer === 'already_verified'
      ? t('verify.already')
      : t(answer === 'sent' ? 'verify.resent' : 'verify.mailed', { email: props.email })
  return (
    <form
      class="confirm-address"
      data-testid="confirm-address"
      data-state={answer ?? 'mailed'}
      onSubmit={resend}
    >
      <p class="notice" role="status" {...(answer === 'already_verified' ? { 'data-tone': 'ok' } : {})}>
        {said}
      </p>
      {answer !== 'already_verified' && <FormStatus state={state} submit={t('verify.resend')} />}
    </form>
  )
}
