import { canSubmit, noticeText, type SubmitState } from './forms.js'
import { useI18n } from './i18n.js'

/**
 * The end of a form: why it could not be sent (the service unavailable, or the server's message
 * when no field carries it) and its submit button, disabled while sending and, after a 429, until
 * its `Retry-After` has passed. `danger`: the button does what cannot be undone (an erasure).
 */
export function FormStatus({
  state,
  submit,
  danger,
}: {
  state: SubmitState
  submit: string
  danger?: boolean
}) {
  const { t } = useI18n()
  return (
    <>
      {state.unavailable && <p class="notice">{t('unavailable')}</p>}
      {state.formError && (
        <p class="notice" data-tone="danger" role="alert">
          {noticeText(state.formError, t)}
        </p>
      )}
      <button
        class={danger ? 'btn btn-danger' : 'btn btn-primary'}
        type="submit"
        disabled={!canSubmit(state)}
      >
        {state.pending ? '…' : submit}
      </button>
    </>
  )
}
