import { useEffect, useState } from 'preact/hooks'
import type { OvasabiClient, RealtimeConnection } from '../../../client/index.js'
import { useSubmit } from './forms.js'
import { useI18n } from './i18n.js'

interface Upload {
  media_id: string
  name: string
  progress: number
  status: string
  url?: string
  thumbnail_url?: string
  reason?: string
}

/** Upload with a progress bar: bytes sent (XHR) first, then the server's `media_event`s. */
export function MediaUpload(props: {
  client: OvasabiClient
  campaign: string
  connection: RealtimeConnection | null
}) {
  const { t } = useI18n()
  const { state, run } = useSubmit()
  const [upload, setUpload] = useState<Upload | null>(null)
  const [unavailable, setUnavailable] = useState(false)

  useEffect(() => {
    const conn = props.connection
    if (!conn) return
    return conn.on('media_event', (f) =>
      setUpload((u) =>
        u && u.media_id === f.media_id
          ? {
              ...u,
              status: f.status,
              progress: typeof f.progress === 'number' ? Math.max(u.progress, f.progress / 100) : u.progress,
              url: f.url ?? u.url,
              thumbnail_url: f.thumbnail_url ?? u.thumbnail_url,
              reason: f.reason ?? u.reason,
            }
          : u,
      ),
    )
  }, [props.connection])

  async function submit(e: Event) {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const file = (form.elements.namedItem('file') as HTMLInputElement).files?.[0]
    if (!file) return
    await run(async () => {
      const res = await props.client.media.requestUpload(props.campaign, {
        filename: file.name,
        content_type: file.type || 'application/octet-stream',
        size: file.size,
      })
      const ticket = res.result
      // Without a media module the analytics fallback records the action but hands out no URL.
      if (!ticket || typeof ticket.upload_url !== 'string') {
        setUnavailable(true)
        return
      }
      setUpload({ media_id: ticket.media_id, name: file.name, progress: 0, status: 'uploading' })
      await props.client.media.put(ticket.upload_url, file, (p) =>
        setUpload((u) => (u ? { ...u, progress: Math.max(u.progress, p) } : u)),
      )
      setUpload((u) => (u && u.status === 'uploading' ? { ...u, status: 'processing' } : u))
    })
  }

  if (unavailable || state.unavailable) return <p class="notice">{t('unavailable')}</p>
  return (
    <form class="card-form" onSubmit={submit} data-testid="media-form">
      <div class="field">
        <label for="media-file">{t('media.choose')}</label>
        <input id="media-file" name="file" type="file" accept="image/*,video/*" required />
      </div>
      <div class="progress-wrap" aria-live="polite">
        <progress
          data-testid="upload-progress"
          max={100}
          value={Math.round((upload?.progress ?? 0) * 100)}
          aria-label="Upload progress"
        />
        <span class="hint">
          {upload ? `${upload.name}: ${upload.status} ${Math.round(upload.progress * 100)}%` : '\u00a0'}
        </span>
      </div>
      {upload?.status === 'ready' && upload.thumbnail_url && (
        <img class="thumb" src={upload.thumbnail_url} alt={upload.name} width={96} height={96} />
      )}
      {upload?.status === 'failed' && (
        <p class="notice" data-tone="danger">
          {upload.reason ?? 'Upload failed'}
        </p>
      )}
      {state.formError && (
        <p class="notice" data-tone="danger" role="alert">
          {state.formError}
        </p>
      )}
      <button class="btn btn-soft" type="submit" disabled={state.pending}>
        {t('media.upload')}
      </button>
    </form>
  )
}
