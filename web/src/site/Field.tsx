import type { ComponentChildren } from 'preact'

/** A labelled field with its inline error, linked by `aria-describedby`. */
export function Field(props: {
  id: string
  label: string
  error?: string
  hint?: string
  children: ComponentChildren
}) {
  const errId = `${props.id}-error`
  const hintId = `${props.id}-hint`
  return (
    <div class="field" data-invalid={props.error ? 'true' : 'false'}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <span class="hint" id={hintId}>
          {props.hint}
        </span>
      )}
      <span class="field-error" id={errId} role={props.error ? 'alert' : undefined}>
        {props.error ?? ''}
      </span>
    </div>
  )
}

export const describedBy = (id: string) => `${id}-error`
