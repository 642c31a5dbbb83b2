// `media.put`: the bytes of an upload PUT to its signed, single-use URL, with progress through
// XHR in a page, and a deadline and abort either way.
import { OvasabiError } from './errors.js'
import { DEFAULT_TIMEOUT_MS, deadline, type FetchLike, type HttpCore } from './http.js'

/** `media.put`'s options: its deadline and abort. */
export interface PutOptions {
  /**
   * How long the upload may take before it fails with `TIMEOUT` (default: the client's `timeoutMs`;
   * 0 or `Infinity`: none). Through XHR (a page without an injected `fetch`) it counts from the last
   * upload progress, so only a stalled upload fails, however large the file, and it defaults to 30 s.
   * Through `fetch` (Node, an injected one) there is no progress to count from: the deadline bounds
   * the whole upload, so there is none unless the call or the client sets one (a 100 MB upload must
   * not fail at 30 s for being large).
   */
  timeoutMs?: number
  /** Aborting it fails the upload with `ABORTED`. */
  signal?: AbortSignal
}

/** PUT `body` to a signed upload URL: through XHR in a page (progress), else `fetch`. */
export async function putBytes(
  http: HttpCore,
  fetchImpl: FetchLike | undefined,
  uploadUrl: string,
  body: Blob | ArrayBuffer | Uint8Array,
  onProgress: ((fraction: number) => void) | undefined,
  /** The call's or the client's `timeoutMs`, if either set one (see `PutOptions`). */
  given: number | undefined,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  const viaXhr = !fetchImpl && typeof XMLHttpRequest !== 'undefined'
  const limit = given ?? (viaXhr ? DEFAULT_TIMEOUT_MS : 0)
  const url = /^https?:/.test(uploadUrl) ? uploadUrl : `${http.baseUrl}${uploadUrl}`
  const type = typeof Blob !== 'undefined' && body instanceof Blob ? body.type : 'application/octet-stream'
  const timeout = (cause?: unknown) =>
    new OvasabiError('TIMEOUT', `PUT ${uploadUrl}: no answer within ${limit} ms`, { cause })
  const aborted = (cause?: unknown) => new OvasabiError('ABORTED', `PUT ${uploadUrl}: aborted`, { cause })
  if (signal?.aborted) throw aborted(signal.reason)
  if (viaXhr) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      let timedOut = false
      let timer: ReturnType<typeof setTimeout> | undefined
      const arm = () => {
        clearTimeout(timer)
        timer =
          limit > 0
            ? deadline(() => {
                timedOut = true
                xhr.abort()
              }, limit)
            : undefined
      }
      const forward = () => xhr.abort()
      const settle = (err?: OvasabiError, value?: unknown) => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', forward)
        if (err) reject(err)
        else resolve(value)
      }
      xhr.open('PUT', url)
      xhr.setRequestHeader('content-type', type || 'application/octet-stream')
      xhr.upload.onprogress = (e) => {
        // A slow upload that still moves is not a stalled one.
        arm()
        if (e.lengthComputable) onProgress?.(e.loaded / e.total)
      }
      xhr.onload = () => {
        let parsed: unknown
        try {
          parsed = xhr.responseText ? JSON.parse(xhr.responseText) : undefined
        } catch {
          parsed = undefined
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress?.(1)
          settle(undefined, parsed)
        } else settle(OvasabiError.fromBody(xhr.status, parsed))
      }
      xhr.onerror = () => settle(new OvasabiError('NETWORK_ERROR', `PUT ${uploadUrl} failed`))
      xhr.onabort = () => settle(timedOut ? timeout() : aborted(signal?.reason))
      xhr.ontimeout = () => settle(timeout())
      signal?.addEventListener('abort', forward, { once: true })
      arm()
      xhr.send(body as XMLHttpRequestBodyInit)
    })
  }
  const f = fetchImpl ?? ((i: string, init?: RequestInit) => globalThis.fetch(i, init))
  // One signal for the caller's abort and the deadline, as `HttpCore.request` has.
  const controller = new AbortController()
  let timedOut = false
  const timer =
    limit > 0
      ? deadline(() => {
          timedOut = true
          controller.abort()
        }, limit)
      : undefined
  const forward = () => controller.abort()
  signal?.addEventListener('abort', forward, { once: true })
  let res: Response
  let text: string
  try {
    res = await f(url, {
      method: 'PUT',
      headers: { 'content-type': type || 'application/octet-stream' },
      body: body as BodyInit,
      signal: controller.signal,
    })
    text = await res.text()
  } catch (err) {
    if (timedOut) throw timeout(err)
    if (signal?.aborted) throw aborted(err)
    // As every other call reports it: the server was not reached, or the answer was cut off.
    throw new OvasabiError('NETWORK_ERROR', `PUT ${uploadUrl}: ${String(err)}`, { cause: err })
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', forward)
  }
  let parsed: unknown
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  if (!res.ok) throw OvasabiError.fromBody(res.status, parsed, res.headers)
  onProgress?.(1)
  return parsed
}
