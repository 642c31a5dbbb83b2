import type { ComponentChildren } from 'preact'
import { errorText, type Loadable } from './api.js'

/** Renders a `Loadable`: spinner, "unavailable" note, error, or the content. */
export function LoadView<T>(props: {
  value: Loadable<T>
  what: string
  children: (data: T) => ComponentChildren
}) {
  const v = props.value
  if (v.state === 'loading') return <p class="muted">Loading {props.what}…</p>
  if (v.state === 'unavailable')
    return (
      <p class="notice" data-testid="unavailable">
        {props.what[0]?.toUpperCase() + props.what.slice(1)} unavailable on this server.
      </p>
    )
  if (v.state === 'error')
    return (
      <p class="notice" data-tone="danger" role="alert">
        {errorText(v.error)}
      </p>
    )
  return <>{props.children(v.data)}</>
}

export function Stat(props: { label: string; value: ComponentChildren; testid?: string }) {
  return (
    <div class="stat">
      <span class="stat-label">{props.label}</span>
      <span class="stat-value" data-testid={props.testid}>
        {props.value}
      </span>
    </div>
  )
}
