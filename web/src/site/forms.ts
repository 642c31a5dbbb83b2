import { useEffect, useRef, useState } from 'preact/hooks'
import { OvasabiError, type OvasabiClient } from '../../../client/index.js'
import { ensureSession } from '../shared/session.js'
import type { Params } from './i18n.js'
import { type StringKey, statusKey, type TextKey } from './strings.js'

/**
 * A form's message: one of the page's strings, translated when it is shown (so a language switch
 * after the error rewords it too), or the server's own text when the page has no sentence for it.
 * `words` fills placeholders with other page strings (a status word), translated as well.
 */
export type FormNotice =
  | { key: TextKey; params?: Params; words?: Record<string, StringKey> }
  | { text: string }

/** The notice in the page's shown language. */
export function noticeText(n: FormNotice, t: (key: TextKey, params?: Params) => string): string {
  if ('text' in n) return n.text
  const words: Params = {}
  for (const [name, key] of Object.entries(n.words ?? {})) words[name] = t(key)
  return t(n.key, { ...n.params, ...words })
}

export interface SubmitState {
  pending: boolean
  fieldErrors: Record<string, string>
  formError?: FormNotice
  unavailable: boolean
  /**
   * The server said 429 RATE_LIMITED: no new attempt is sent before this time (ms since the
   * epoch, from its `Retry-After`), and the submit button stays disabled until then.
   */
  retryAt?: number
}

const IDLE: SubmitState = { pending: false, fieldErrors: {}, unavailable: false }

/**
 * The page's own sentence for a refusal, by its HTTP status, for a form whose refusals the server
 * words for developers ("Only the person themself or an admin can erase an account").
 */
export type Refusals = Partial<Record<number, TextKey>>

/**
 * Runs a submit through `client`, mapping the server's validation details onto fields (inline
 * errors). `fields` names the form's fields: when one of them carries an error, that is the
 * message, and the server's summary ("Request body is invalid") is not shown as well. `refusals`
 * words the refusals whose server text is not for a visitor.
 *
 * One attempt at a time: a second submit while one is on its way (a double click, Enter pressed
 * twice) is not sent, and after a 429 none is sent until its `Retry-After` has passed.
 *
 * The forms show before the page's guest session exists (the page does not wait for it to draw):
 * a submit in that moment waits for the session instead of going out without a token.
 */
export function useSubmit(client: OvasabiClient, fields?: readonly string[], refusals: Refusals = {}) {
  const [state, setState] = useState<SubmitState>(IDLE)
  /** Read synchronously: two submits in one moment both see the first one's claim. */
  const busy = useRef(false)
  const retryAt = useRef(0)
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  useEffect(() => () => clearTimeout(timer.current), [])

  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (busy.current || Date.now() < retryAt.current) return undefined
    busy.current = true
    setState({ ...IDLE, pending: true })
    try {
      await ensureSession(client)
      const out = await fn()
      setState(IDLE)
      return out
    } catch (err) {
      const e =
        err instanceof OvasabiError
          ? err
          : new OvasabiError('NETWORK_ERROR', 'Something went wrong', { cause: err })
      const fieldErrors = e.fieldErrors()
      const onField = fields?.some((f) => f in fieldErrors) ?? false
      const wait = e.code === 'RATE_LIMITED' ? waitSeconds(e) : 0
      if (wait > 0) {
        retryAt.current = Date.now() + wait * 1000
        clearTimeout(timer.current)
        timer.current = setTimeout(
          () => setState((s) => ({ ...s, retryAt: undefined, formError: undefined })),
          wait * 1000,
        )
      }
      setState({
        pending: false,
        fieldErrors,
        formError: e.unavailable || onField ? undefined : friendly(e, refusals),
        unavailable: e.unavailable,
        ...(wait > 0 ? { retryAt: retryAt.current } : {}),
      })
      return undefined
    } finally {
      busy.current = false
    }
  }
  /** Forget the last outcome (e.g. a new file was chosen: its errors no longer apply). A 429's wait stays. */
  function reset() {
    setState((s) => (s.retryAt ? { ...IDLE, retryAt: s.retryAt, formError: s.formError } : IDLE))
  }
  return { state, run, reset }
}

/** Whether the form may be sent now (nothing on its way, no 429 wait running). */
export const canSubmit = (s: SubmitState) => !s.pending && s.retryAt === undefined

const waitSeconds = (e: OvasabiError) => Math.max(1, Math.ceil(e.retryAfter ?? 60))

function friendly(e: OvasabiError, refusals: Refusals): FormNotice {
  if (e.code === 'RATE_LIMITED') return { key: 'form.error.rateLimited', params: { seconds: waitSeconds(e) } }
  const own = refusals[e.status]
  if (own) return { key: own }
  // The server's message names the slug ("Campaign launch-2025 is ended"): a visitor reads this.
  if (e.code === 'CAMPAIGN_NOT_ACTIVE') {
    const status = (e.details as { status?: unknown } | undefined)?.status
    // Not started yet (the page missed its waiting room's announcement): it will take them.
    if (status === 'scheduled') return { key: 'form.error.notStarted' }
    return {
      key: 'form.error.closed',
      words: { status: statusKey(typeof status === 'string' ? status : 'closed') },
    }
  }
  if (e.code === 'NETWORK_ERROR') return { key: 'form.error.network' }
  if (e.status >= 500) return { key: 'form.error.server' }
  // A schema summary ("Request body is invalid") is written for developers; other refusals say
  // what happened in the server's words.
  if (e.code === 'VALIDATION_FAILED' || !e.message) return { key: 'form.error.check' }
  return { text: e.message }
}

/** Form data as plain strings. */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string') out[k] = v.trim()
  return out
}

/**
 * After a submit that found problems, moves focus to the form's first field marked invalid, so a
 * keyboard or screen-reader user lands on what to fix (the error is linked to it by
 * `aria-describedby`). `attempt` grows with each submit; the move happens once the errors show.
 */
export function useFocusFirstInvalid(
  form: { current: HTMLFormElement | null },
  attempt: number,
  pending: boolean,
) {
  const done = useRef(0)
  useEffect(() => {
    if (attempt === 0 || pending || done.current === attempt) return
    const first = form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')
    if (!first) return
    done.current = attempt
    first.focus()
  })
}
