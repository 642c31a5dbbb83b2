import type * as C from './contracts.js'
import type { HttpCore } from './http.js'
import { sendWhileInProgress } from './in-progress.js'

/** Options of the stream lifecycle REST calls (`streams.rest`). */
export interface StreamRestOptions {
  /**
   * Sent as `Idempotency-Key`, which the server keeps for 24 h: a retry with the same key runs
   * nothing again and resolves with the first answer (the server marks it `idempotent-replayed`),
   * except a create's or a key reset's, which rejects with 409 `SECRET_NOT_REPLAYED` naming the
   * stream (the ingest URL is not kept). The same key for another stream, step or body rejects with
   * 422 `IDEMPOTENCY_KEY_REUSED`. Absent: each call runs.
   */
  idempotencyKey?: string
  signal?: AbortSignal
}

const enc = encodeURIComponent

/**
 * `stream.start` / `pause` / `stop` / `reset_key` over their REST routes (same service, roles and
 * errors as the actions): `POST /api/campaign/{slug}/streams` and
 * `POST /api/campaign/{slug}/streams/{id}/start|pause|stop|reset-key`.
 */
export function streamRestCalls(http: Pick<HttpCore, 'request'>) {
  function post(campaign: string, path: string, opts: StreamRestOptions, body?: unknown) {
    const url = `/api/campaign/${enc(campaign)}/streams${path}`
    const key = opts.idempotencyKey
    const send = () =>
      http.request<C.CampaignStream>('POST', url, {
        body,
        signal: opts.signal,
        headers: key === undefined ? undefined : { 'idempotency-key': key },
      })
    // Only a keyed call can meet its own first run still going on (409 `REQUEST_IN_PROGRESS`): it
    // is sent again under the same key, as `action` sends its request_id, so it joins that run.
    return key === undefined
      ? send()
      : sendWhileInProgress(send, { what: `POST ${url}`, key, signal: opts.signal })
  }
  const step =
    (name: string) =>
    (campaign: string, streamId: string | number, opts: StreamRestOptions = {}) =>
      post(campaign, `/${enc(String(streamId))}/${name}`, opts)

  return {
    /** A new stream, starting (201): its ingest URL, which holds the publishing key, in this answer only. */
    create: (campaign: string, body: { title?: string } = {}, opts: StreamRestOptions = {}) =>
      post(campaign, '', opts, body),
    /** Takes a starting or paused stream live (its owner or an admin). */
    start: step('start'),
    pause: step('pause'),
    stop: step('stop'),
    /** A new publishing key (its owner or an editor): the new ingest URL, in this answer only. */
    resetKey: step('reset-key'),
  }
}
