import { useState } from 'preact/hooks'
import { OvasabiError, type OvasabiClient } from '../../../client/index.js'
import { ensureSession } from '../shared/session.js'

export interface SubmitState {
  pending: boolean
  fieldErrors: Record<string, string>
  formError?: string
  unavailable: boolean
}

/**
 * Runs a submit through `client`, mapping the server's validation details onto fields (inline
 * errors). `fields` names the form's fields: when one of them carries an error, that is the
 * message, and the server's summary ("Request body is invalid") is not shown as well.
 *
 * The forms show before the page's guest session exists (the page does not wait for it to draw):
 * a submit in that moment waits for the session instead of going out without a token.
 */
export function useSubmit(client: OvasabiClient, fields?: readonly string[]) {
  const [state, setState] = useState<SubmitState>({ pending: false, fieldErrors: {}, unavailable: false })
  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    setState({ pending: true, fieldErrors: {}, unavailable: false })
    try {
      await ensureSession(client)
      const out = await fn()
      setState({ pending: false, fieldErrors: {}, unavailable: false })
      return out
    } catch (err) {
      const e =
        err instanceof OvasabiError
          ? err
          : new OvasabiError('NETWORK_ERROR', 'Something went wrong', { cause: err })
      const fieldErrors = e.fieldErrors()
      const onField = fields?.some((f) => f in fieldErrors) ?? false
      setState({
        pending: false,
        fieldErrors,
        formError: e.unavailable || onField ? undefined : friendly(e),
        unavailable: e.unavailable,
      })
      return undefined
    }
  }
  /** Forget the last outcome (e.g. a new file was chosen: its errors no longer apply). */
  function reset() {
    setState({ pending: false, fieldErrors: {}, unavailable: false })
  }
  return { state, run, reset }
}

function friendly(e: OvasabiError): string {
  if (e.code === 'RATE_LIMITED')
    return `Too many attempts. Please try again in ${e.retryAfter ?? 60} seconds.`
  if (e.code === 'NETWORK_ERROR') return 'We could not reach the server. Check your connection and try again.'
  if (e.status >= 500) return 'Something went wrong on our side. Please try again.'
  return e.message || 'Please check the form.'
}

/** Form data as plain strings. */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string') out[k] = v.trim()
  return out
}
