import { useState } from 'preact/hooks'
import type { OvasabiClient } from '../../../client/index.js'
import { FormStatus } from './FormStatus.js'
import { useSubmit } from './forms.js'
import { useI18n } from './i18n.js'

/**
 * Under the welcome, after a join that mailed a link to confirm the address (the campaign's
 * `verify_email_at_join`): where it went, and "Send the link again" for a mail that never came. A
 * new link opens this page too, and only the newest works; the server's limit (3 an hour) shows
 * as the forms' 429 does, with the button held until it passes.
 */
export function ConfirmAddress(props: { client: OvasabiClient; campaign: string; email: string }) {
  const { t } = useI18n()
  const { state, run } = useSubmit(props.client)
  const [answer, setAnswer] = useState<'sent' | 'already_verified'>()

  async function resend(e: Event) {
    e.preventDefault()
    const res = await run(() => props.client.users.requestEmailVerification({ campaign: props.campaign }))
    if (res) setAnswer(res.status)
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
