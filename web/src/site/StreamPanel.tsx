import { useEffect, useState } from 'preact/hooks'
import type { OvasabiClient, RealtimeConnection, StreamEventFrame } from '../../../client/index.js'
import { useSubmit } from './forms.js'
import { useI18n } from './i18n.js'

interface StreamView {
  stream_id: string
  status: string
  viewers: number
  title?: string
  playback_url?: string
}

/** The campaign's live stream: status and viewers from `stream_event`s; joined users can go live. */
export function StreamPanel(props: {
  client: OvasabiClient
  campaign: string
  connection: RealtimeConnection | null
  canStart: boolean
}) {
  const { t } = useI18n()
  const { state, run } = useSubmit()
  const [stream, setStream] = useState<StreamView | null>(null)
  const [unavailable, setUnavailable] = useState(false)

  useEffect(() => {
    const conn = props.connection
    if (!conn) return
    return conn.on('stream_event', (f: StreamEventFrame) => {
      if (f.kind === 'chat') return
      setStream((s) => {
        const same = s?.stream_id === String(f.stream_id)
        if (!same && f.status === 'ended') return s
        const next: StreamView = {
          stream_id: String(f.stream_id),
          status: f.status ?? s?.status ?? 'live',
          viewers: typeof f.viewers === 'number' ? f.viewers : same ? (s?.viewers ?? 0) : 0,
          title: typeof f.title === 'string' ? f.title : same ? s?.title : undefined,
          playback_url:
            typeof f.playback_url === 'string' ? f.playback_url : same ? s?.playback_url : undefined,
        }
        if (!same) conn.send({ type: 'stream_join', stream_id: f.stream_id })
        return next
      })
    })
  }, [props.connection])

  async function start() {
    await run(async () => {
      const res = await props.client.streams.start(props.campaign, { title: `${document.title} live` })
      if (!res.result || res.result.stream_id === undefined) return setUnavailable(true)
      setStream({
        stream_id: String(res.result.stream_id),
        status: res.result.status ?? 'starting',
        viewers: 0,
      })
    })
  }

  const live = stream && stream.status !== 'ended'
  const tone = stream?.status === 'live' ? 'live' : stream?.status === 'paused' ? 'warn' : undefined
  return (
    <div class="stream" data-testid="stream-panel">
      <div class="stream-screen" data-live={live ? 'true' : 'false'}>
        <span class="badge" data-tone={tone} data-testid="stream-status">
          {stream?.status ?? 'offline'}
        </span>
        <span class="stream-viewers">
          <strong data-testid="stream-viewers">{stream?.viewers ?? 0}</strong> {t('stream.viewers')}
        </span>
        {!live && <p class="stream-empty">{t('stream.offline')}</p>}
        {live && stream?.title && <p class="stream-title">{stream.title}</p>}
      </div>
      {(unavailable || state.unavailable) && <p class="notice">{t('unavailable')}</p>}
      {state.formError && (
        <p class="notice" data-tone="danger">
          {state.formError}
        </p>
      )}
      {props.canStart && !live && !unavailable && (
        <button class="btn btn-soft" type="button" onClick={start} disabled={state.pending}>
          {t('stream.start')}
        </button>
      )}
    </div>
  )
}
