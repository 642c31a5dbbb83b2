import type { ComponentChildren, InputHTMLAttributes } from 'preact'

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

/** A `Field` around one `<input>`, which gets its `id` and the `aria-describedby` of the error. */
export function InputField({
  label,
  error,
  ...input
}: { id: string; label: string; error?: string } & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <Field id={input.id} label={label} error={error}>
      <input {...input} aria-describedby={describedBy(input.id)} aria-invalid={error ? 'true' : undefined} />
    </Field>
  )
}
