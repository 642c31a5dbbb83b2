import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
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

/**
 * In place of a screen the signed-in key's role may not use (the server answers it 403): what it
 * is for and who can use it, rather than a raw `FORBIDDEN`. `allowed` undefined: not known yet.
 * `plural`: `what` names several things (`Webhooks are…`); the caller says so, since the noun's
 * last letter does not (`Analytics is…`).
 */
export function AdminOnly(props: {
  allowed: boolean | undefined
  what: string
  plural?: boolean
  children: () => ComponentChildren
}) {
  if (props.allowed === undefined) return <p class="muted">Loading…</p>
  if (!props.allowed)
    return (
      <p class="notice" data-tone="warn" role="status" data-testid="admin-only">
        {props.what} {props.plural ? 'are' : 'is'} for admins: this console is signed in with an editor’s key.
        Sign in with an admin’s key to use {props.plural ? 'them' : 'it'}.
      </p>
    )
  return <>{props.children()}</>
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

/**
 * Where a page sits in the whole list (`Streams 101–150 of 150`) and the way to the pages around
 * it; nothing while everything fits on one page.
 */
export function Pager(props: {
  page: number
  perPage: number
  total: number
  shown: number
  /**
   * Whether a page follows, when the list knows it better than `total` (a cursor-paged list asked
   * for one row more than a page: rows arriving after page 1 count in `total` yet come before it).
   */
  more?: boolean
  /** Plural, capitalised: `Streams`. */
  noun: string
  testid?: string
  onPage: (page: number) => void
}) {
  const first = (props.page - 1) * props.perPage
  const last = Math.max(1, Math.ceil(props.total / props.perPage))
  const more = props.more ?? props.page < last
  if (!more && props.page === 1) return null
  return (
    <nav class="toolbar pager" aria-label={`${props.noun} pages`} data-testid={props.testid}>
      <span class="muted" aria-live="polite">
        {props.shown === 0
          ? `No ${props.noun.toLowerCase()} on page ${props.page}`
          : `${props.noun} ${first + 1}–${first + props.shown} of ${props.total}`}
      </span>
      <button
        class="btn btn-soft btn-sm push-right"
        type="button"
        disabled={props.page <= 1}
        // A cursor-paged list (`more`) goes back one page: its `total` may say fewer pages than read.
        onClick={() =>
          props.onPage(
            Math.max(1, props.more === undefined ? Math.min(props.page - 1, last) : props.page - 1),
          )
        }
      >
        Previous
      </button>
      <button
        class="btn btn-soft btn-sm"
        type="button"
        disabled={!more}
        onClick={() => props.onPage(props.page + 1)}
      >
        Next
      </button>
    </nav>
  )
}

/** A list's filter by one of `options` ("All" for none): `onPick` hears the value picked ('' for all). */
export function FilterSelect(props: {
  id: string
  label: string
  value: string
  options: readonly string[]
  onPick: (value: string) => void
}) {
  return (
    <div class="field inline">
      <label for={props.id}>{props.label}</label>
      <select
        id={props.id}
        value={props.value}
        onChange={(e) => props.onPick((e.currentTarget as HTMLSelectElement).value)}
      >
        <option value="">All</option>
        {props.options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    </div>
  )
}

/**
 * A list's search field: `onSearch` hears the trimmed text when it is committed (Enter, or leaving
 * the field), and '' as soon as the field is emptied.
 */
export function SearchField(props: {
  id: string
  label?: string
  placeholder: string
  onSearch: (text: string) => void
}) {
  return (
    <div class="field inline grow">
      <label for={props.id}>{props.label ?? 'Search'}</label>
      <input
        id={props.id}
        type="search"
        placeholder={props.placeholder}
        onChange={(e) => props.onSearch((e.currentTarget as HTMLInputElement).value.trim())}
        // Escape or the field's clear button empties it without a change event (that comes on
        // blur): a table kept the old search under an empty field.
        onInput={(e) => {
          if ((e.currentTarget as HTMLInputElement).value.trim() === '') props.onSearch('')
        }}
      />
    </div>
  )
}

/**
 * An instant in the browser's zone, saying which (`12/5/2026, 3:41:00 AM EST`): operators in
 * different zones read the same lead or delivery, and a bare clock time did not say whose.
 */
export function localTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { timeZoneName: 'short' })
}

/**
 * A secret the server shows only once (an API key, a webhook signing secret): the text saying
 * what it is, the value, a Copy button and "I have stored it" (`onDone`). Give it `key={value}` so
 * a new secret starts with an unpressed Copy.
 */
export function ShownOnce(props: {
  testid: string
  valueTestid?: string
  value: string
  onDone: () => void
  children: ComponentChildren
}) {
  const [copied, setCopied] = useState(false)
  return (
    <div class="panel secret" data-testid={props.testid}>
      <p>{props.children}</p>
      <code class="break" data-testid={props.valueTestid}>
        {props.value}
      </code>
      <div class="toolbar">
        <button
          class="btn btn-soft btn-sm"
          type="button"
          onClick={() =>
            navigator.clipboard?.writeText(props.value).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button class="btn btn-soft btn-sm" type="button" onClick={props.onDone}>
          I have stored it
        </button>
      </div>
    </div>
  )
}

/** One column of a `DataTable`. */
export interface Column<T> {
  /** Its heading (`scope="col"`). */
  heading: string
  /** The heading is for screen readers only: a column of buttons needs no visible one. */
  hideHeading?: boolean
  /** What a row shows in it. */
  cell: (row: T) => ComponentChildren
  /** Its cells' class (`nowrap`, `num`, `email`, `message` in admin.css; or one a test finds it by). */
  class?: string
  /** A row's cell attributes: the whole text in `title`, or `dir="auto"` on visitor text. */
  cellAttrs?: (row: T) => { title?: string; dir?: 'auto' | 'ltr' | 'rtl' }
}

/**
 * A console list as a table in its scroller: `columns` over `rows`, each row keyed by `rowKey`
 * (and given `rowAttrs`, the `data-*` a test or a style finds it by). No rows: `empty` in place
 * of the table, or, while `loading`, that it is loading; with no `empty` (a later page of a list,
 * which its pager speaks for) the table stands with no rows. `label` names the table to screen
 * readers, whose table lists otherwise all read "table". When every heading is for screen readers
 * only (a two-column list under a panel heading that says what it counts), the heading row takes no
 * room: its empty cells' padding and rule showed as a blank band above the rows.
 */
export function DataTable<T>(props: {
  label: string
  columns: readonly Column<T>[]
  rows: readonly T[]
  rowKey: (row: T) => string | number
  rowAttrs?: (row: T) => Record<`data-${string}`, string>
  empty?: ComponentChildren
  emptyTestid?: string
  /** Rows are on their way: the table says so (`aria-busy`), an empty one instead of `empty`. */
  loading?: boolean
  testid?: string
  /**
   * The scroller's class besides `table-wrap` (admin.css): `impact-list` caps its height, `fit`
   * lets a table of a few short columns be as narrow as its panel instead of a wide list's minimum.
   */
  wrapClass?: string
}) {
  if (props.rows.length === 0 && props.loading)
    return (
      <p class="muted" role="status">
        Loading…
      </p>
    )
  if (props.rows.length === 0 && props.empty !== undefined)
    return (
      <p class="muted" data-testid={props.emptyTestid}>
        {props.empty}
      </p>
    )
  return (
    <div class={props.wrapClass ? `table-wrap ${props.wrapClass}` : 'table-wrap'}>
      <table
        class="table"
        aria-label={props.label}
        aria-busy={props.loading || undefined}
        data-testid={props.testid}
      >
        <thead class={props.columns.every((c) => c.hideHeading) ? 'headless' : undefined}>
          <tr>
            {props.columns.map((c) => (
              <th key={c.heading} scope="col">
                {c.hideHeading ? <span class="sr-only">{c.heading}</span> : c.heading}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={props.rowKey(row)} {...props.rowAttrs?.(row)}>
              {props.columns.map((c) => (
                <td key={c.heading} class={c.class} {...c.cellAttrs?.(row)}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
