import { useEffect, useRef, useState } from 'preact/hooks'
import {
  isOvasabiError,
  type OvasabiClient,
  type RealtimeConnection,
  type StreamEventFrame,
} from '../../../client/index.js'
import { canSubmit, noticeText, useSubmit } from './forms.js'
import { useI18n } from './i18n.js'

interface StreamView {
  stream_id: string
  status: string
  viewers: number
  title?: string
  playback_url?: string
  /** This visitor owns it: the panel offers its controls (the server checks again). */
  mine: boolean
}

const ended = (s: StreamView): StreamView => ({ ...s, status: 'ended', viewers: 0 })

/**
 * The campaign's live stream: status and viewers from `stream_event`s; joined users can go live.
 *
 * Lifecycle (the server's `stream.*` actions): `stream.start` creates a stream, `starting`; its
 * owner takes it live with `stream.start {stream_id}` (nothing else does: no ingest step), pauses
 * it (`stream.pause`, live → paused), resumes it (`stream.start` again) and ends it
 * (`stream.stop`, from any of them). The owner sees those controls; other visitors the status.
 *
 * Once the socket is there, and after each `resync_required`, the panel reads the campaign's
 * streams that have not ended (`GET /api/campaign/{slug}/streams/live`): the stream shown takes
 * the status read, or `ended` if it is not listed; with none shown, the visitor's own (`mine`
 * in the read: the server never says who owns the others), else a live one, else any is shown. A stream still on is joined (viewer counts).
 * Until a resync's read answers the status is marked unconfirmed (`data-stale`); if it fails, the
 * panel falls back on joining again and on the next frames (a viewer count says live; the server
 * refuses to let a socket join a stream that has ended).
 */
export function StreamPanel(props: {
  client: OvasabiClient
  campaign: string
  connection: RealtimeConnection | null
  canStart: boolean
  /** `resync_required` frames so far (see `useLive`): the status shown may be out of date. */
  resyncs?: number
}) {
  const { t } = useI18n()
  const { state, run } = useSubmit(props.client)
  const [stream, setStream] = useState<StreamView | null>(null)
  const [unavailable, setUnavailable] = useState(false)
  const [stale, setStale] = useState(false)
  /** The stream shown and the socket, for reads (which answer later). */
  const shown = useRef<StreamView | null>(null)
  shown.current = stream
  const socket = useRef(props.connection)
  socket.current = props.connection
  /** Status frames heard so far: a read older than the latest of them must not undo it. */
  const heard = useRef(0)
  const { client, campaign } = props

  const join = (id: string | number) => socket.current?.send({ type: 'stream_join', stream_id: id })

  /** Read the streams that have not ended; `resync` marks the shown status unconfirmed meanwhile. */
  function read(resync: boolean): () => void {
    const s = shown.current
    const ongoing = s && s.status !== 'ended' ? s : null
    const mark = heard.current
    let cancelled = false
    if (ongoing && resync) setStale(true)
    client.streams
      .live(campaign)
      .then(({ streams }) => {
        if (cancelled) return
        // A status frame came meanwhile: it is newer than the read; the frames say the rest.
        if (heard.current !== mark) return void (ongoing && join(ongoing.stream_id))
        setStale(false)
        const read = ongoing
          ? streams.find((x) => String(x.stream_id) === ongoing.stream_id)
          : (streams.find((x) => x.mine) ?? streams.find((x) => x.status === 'live') ?? streams[0])
        if (!read) {
          if (ongoing) setStream((cur) => (cur?.stream_id === ongoing.stream_id ? ended(cur) : cur))
          return
        }
        const id = String(read.stream_id)
        setStream((cur) => {
          const same = cur?.stream_id === id
          if (ongoing && !same) return cur
          return {
            stream_id: id,
            status: read.status,
            viewers: read.viewers ?? (read.status === 'live' && same ? cur!.viewers : 0),
            title: read.title,
            playback_url: same ? cur?.playback_url : undefined,
            mine: read.mine,
          }
        })
        join(read.stream_id)
      })
      .catch(() => {
        if (!cancelled && ongoing) join(ongoing.stream_id)
      })
    return () => {
      cancelled = true
    }
  }

  const resyncs = props.resyncs ?? 0
  useEffect(() => {
    if (resyncs !== 0) return read(true)
  }, [resyncs])

  // The first socket means the session is set up: read what is on now (a reload, a late visitor).
  const loaded = useRef(false)
  useEffect(() => {
    if (!props.connection || loaded.current) return
    loaded.current = true
    read(false)
  }, [props.connection])

  useEffect(() => {
    const conn = props.connection
    if (!conn) return
    const connected = conn.on('connected', () => {
      // A new socket watches nothing yet: join the stream shown (a join sent before it opened was dropped).
      const s = shown.current
      if (s && s.status !== 'ended') join(s.stream_id)
    })
    // Only `stream_join` (the one frame this panel sends) is refused with these codes.
    const refused = conn.on('error', (f) => {
      if (f.code !== 'STREAM_NOT_LIVE' && f.code !== 'STREAM_NOT_FOUND') return
      setStale(false)
      setStream((s) => (s ? ended(s) : s))
    })
    const events = conn.on('stream_event', (f: StreamEventFrame) => {
      if (f.kind === 'chat') return
      // Viewer counts are sent for live streams only: one says the stream is live now.
      const status = f.status ?? (f.kind === 'viewers' ? 'live' : undefined)
      if (f.status) heard.current++
      if (status) setStale(false)
      const id = String(f.stream_id)
      // The owner's own sockets get each status frame a second time with `mine: true`; every
      // visitor's frame names no owner, so only that one says whose the stream is.
      const owner = f.mine === true ? true : undefined
      setStream((s) => {
        const same = s?.stream_id === id
        if (!same && status === 'ended') return s
        // Someone else's new stream does not push the visitor's own ongoing one out of view.
        if (!same && s?.mine && s.status !== 'ended' && !owner) return s
        const next: StreamView = {
          stream_id: id,
          status: status ?? s?.status ?? 'live',
          viewers: typeof f.viewers === 'number' ? f.viewers : same ? (s?.viewers ?? 0) : 0,
          title: typeof f.title === 'string' ? f.title : same ? s?.title : undefined,
          playback_url:
            typeof f.playback_url === 'string' ? f.playback_url : same ? s?.playback_url : undefined,
          mine: owner ?? (same ? s!.mine : false),
        }
        if (!same) conn.send({ type: 'stream_join', stream_id: f.stream_id })
        return next
      })
    })
    return () => {
      connected()
      refused()
      events()
    }
  }, [props.connection])

  async function start() {
    await run(async () => {
      const res = await client.streams.start(campaign, { title: `${document.title} live` })
      if (!res.result || res.result.stream_id === undefined) return setUnavailable(true)
      const id = String(res.result.stream_id)
      setStale(false)
      setStream({ stream_id: id, status: res.result.status ?? 'starting', viewers: 0, mine: true })
      join(id)
    })
  }

  /** An owner's step: its answer is the new status (the `stream_event` says so to everyone). */
  async function control(step: 'live' | 'pause' | 'stop') {
    const s = shown.current
    if (!s) return
    const id = s.stream_id
    const done = await run(async () => {
      try {
        const res =
          step === 'live'
            ? await client.streams.start(campaign, { stream_id: id })
            : step === 'pause'
              ? await client.streams.pause(campaign, id)
              : await client.streams.stop(campaign, id)
        return { status: res.result?.status }
      } catch (err) {
        // Not (or no longer) the owner: the controls go; the refusal is still shown.
        if (isOvasabiError(err) && err.status === 403) {
          setStream((cur) => (cur?.stream_id === id ? { ...cur, mine: false } : cur))
        }
        throw err
      }
    })
    // Refused (e.g. ended elsewhere meanwhile, its frame not heard yet): show where it stands now.
    if (!done) return void read(false)
    const status = done.status
    if (typeof status !== 'string') return
    // The answer is newer than any read still on its way.
    heard.current++
    setStream((cur) => (cur?.stream_id === id ? { ...(status === 'ended' ? ended(cur) : cur), status } : cur))
  }

  const live = stream && stream.status !== 'ended'
  const owned = live && stream.mine
  const tone = stale
    ? undefined
    : stream?.status === 'live'
      ? 'live'
      : stream?.status === 'paused'
        ? 'warn'
        : undefined
  return (
    <div
      class="stream"
      data-testid="stream-panel"
      data-owner={owned ? 'true' : undefined}
      data-stream-id={stream?.stream_id}
    >
      <div class="stream-screen" data-live={live ? 'true' : 'false'}>
        <span
          class="badge"
          data-tone={tone}
          data-testid="stream-status"
          data-stale={stale && stream ? 'true' : undefined}
        >
          {stream?.status ?? 'offline'}
        </span>
        <span class="stream-viewers">
          <strong data-testid="stream-viewers">{stream?.viewers ?? 0}</strong> {t('stream.viewers')}
        </span>
        {!live && <p class="stream-empty">{t('stream.offline')}</p>}
        {live && stream?.title && <p class="stream-title">{stream.title}</p>}
        {owned && (
          <p class="stream-title" data-testid="stream-owner">
            {t('stream.yours')}
            {stream.status === 'starting' ? `. ${t('stream.ready')}` : ''}
          </p>
        )}
      </div>
      {(unavailable || state.unavailable) && <p class="notice">{t('unavailable')}</p>}
      {state.formError && (
        <p class="notice" data-tone="danger">
          {noticeText(state.formError, t)}
        </p>
      )}
      {owned && (
        <div class="stream-controls" data-testid="stream-controls">
          {stream.status === 'live' ? (
            <button
              class="btn btn-soft"
              type="button"
              onClick={() => control('pause')}
              disabled={!canSubmit(state)}
            >
              {t('stream.pause')}
            </button>
          ) : (
            <button
              class="btn btn-soft"
              type="button"
              onClick={() => control('live')}
              disabled={!canSubmit(state)}
            >
              {stream.status === 'paused' ? t('stream.resume') : t('stream.goLive')}
            </button>
          )}
          <button
            class="btn btn-soft"
            type="button"
            onClick={() => control('stop')}
            disabled={!canSubmit(state)}
          >
            {t('stream.stop')}
          </button>
        </div>
      )}
      {props.canStart && !live && !unavailable && (
        <button class="btn btn-soft" type="button" onClick={start} disabled={!canSubmit(state)}>
          {t('stream.start')}
        </button>
      )}
    </div>
  )
}
