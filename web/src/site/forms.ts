import { useState } from 'preact/hooks'
import { OvasabiError } from '../../../client/index.js'

export interface SubmitState {
  pending: boolean
  fieldErrors: Record<string, string>
  formError?: string
  unavailable: boolean
}

/** Runs a submit, mapping the server's validation details onto fields (inline errors). */
export function useSubmit() {
  const [state, setState] = useState<SubmitState>({ pending: false, fieldErrors: {}, unavailable: false })
  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    setState({ pending: true, fieldErrors: {}, unavailable: false })
    try {
      const out = await fn()
      setState({ pending: false, fieldErrors: {}, unavailable: false })
      return out
    } catch (err) {
      const e =
        err instanceof OvasabiError
          ? err
          : new OvasabiError('NETWORK_ERROR', 'Something went wrong', { cause: err })
      setState({
        pending: false,
        fieldErrors: e.fieldErrors(),
        formError: e.unavailable ? undefined : friendly(e),
        unavailable: e.unavailable,
      })
      return undefined
    }
  }
  return { state, run }
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
