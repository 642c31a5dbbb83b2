import { canSubmit, noticeText, type SubmitState } from './forms.js'
import { useI18n } from './i18n.js'

/**
 * The end of a form: why it could not be sent (the service unavailable, or the server's message
 * when no field carries it) and its submit button, disabled while sending and, after a 429, until
 * its `Retry-After` has passed.
 */
export function FormStatus({ state, submit }: { state: SubmitState; submit: string }) {
  const { t } = useI18n()
  return (
    <>
      {state.unavailable && <p class="notice">{t('unavailable')}</p>}
      {state.formError && (
        <p class="notice" data-tone="danger" role="alert">
          {noticeText(state.formError, t)}
        </p>
      )}
      <button class="btn btn-primary" type="submit" disabled={!canSubmit(state)}>
        {state.pending ? '…' : submit}
      </button>
    </>
  )
}
