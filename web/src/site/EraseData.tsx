import { useEffect, useRef, useState } from 'preact/hooks'
import { FormStatus } from './FormStatus.js'
import type { SubmitState } from './forms.js'
import { useI18n } from './i18n.js'

/**
 * "Delete my data", in two steps: the first button only shows what erasure takes and what stays,
 * beside the button that erases and one that keeps the data; nothing is sent before the second.
 * Not `window.confirm`: its words and buttons are the browser's (untranslated, "OK"), and a page
 * may have its dialogs suppressed. Focus follows the steps: to the explanation when it opens (a
 * screen reader reads what will happen first), back to "Delete my data" when kept.
 */
export function EraseData(props: { state: SubmitState; onConfirm: () => void; onCancel: () => void }) {
  const { t } = useI18n()
  const [asking, setAsking] = useState(false)
  const opener = useRef<HTMLButtonElement>(null)
  const explanation = useRef<HTMLParagraphElement>(null)
  /** Focus moves only after a choice of the visitor's, never as the welcome first shows. */
  const chose = useRef(false)
  useEffect(() => {
    if (chose.current) (asking ? explanation : opener).current?.focus()
  }, [asking])
  const choose = (ask: boolean) => {
    chose.current = true
    setAsking(ask)
  }

  if (!asking)
    return (
      <button
        class="btn btn-ghost btn-sm"
        type="button"
        ref={opener}
        onClick={() => choose(true)}
        data-testid="erase-data"
      >
        {t('account.erase')}
      </button>
    )
  return (
    <form
      class="erase-confirm"
      data-testid="erase-confirm"
      onSubmit={(e) => {
        e.preventDefault()
        props.onConfirm()
      }}
    >
      <p class="erase-explain" ref={explanation} tabIndex={-1}>
        {t('account.erase.explain')}
      </p>
      <FormStatus state={props.state} submit={t('account.erase.confirm')} danger />
      <button
        class="btn btn-ghost"
        type="button"
        onClick={() => {
          props.onCancel()
          choose(false)
        }}
        data-testid="erase-cancel"
      >
        {t('account.erase.cancel')}
      </button>
    </form>
  )
}
