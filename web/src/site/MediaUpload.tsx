import { useEffect, useRef, useState } from 'preact/hooks'
import { type OvasabiClient, OvasabiError, type RealtimeConnection } from '../../../client/index.js'
import { canSubmit, noticeText, useSubmit } from './forms.js'
import { useI18n } from './i18n.js'
import type { StringKey } from './strings.js'

interface Upload {
  media_id: string
  name: string
  progress: number
  status: string
  url?: string
  thumbnail_url?: string
  /** Why it failed: the server's reason code (`media_event`, `GET /api/media/{id}`). */
  reason?: string
  /** The upload's own error answer, a sentence (used when no known reason is there to say why). */
  message?: string
}

/** Failure reasons (`media_event.reason`) and upload error codes, as sentences a visitor reads. */
const REASONS: Record<string, StringKey> = {
  type_mismatch: 'media.reason.type_mismatch',
  quota_exceeded: 'media.reason.quota_exceeded',
  too_slow: 'media.reason.too_slow',
  idle_timeout: 'media.reason.idle_timeout',
  interrupted: 'media.reason.interrupted',
  client_disconnected: 'media.reason.interrupted',
  invalid_image: 'media.reason.invalid_image',
  expired: 'media.reason.expired',
  MEDIA_TYPE_MISMATCH: 'media.reason.type_mismatch',
  INVALID_IMAGE: 'media.reason.invalid_image',
  UPLOAD_INTERRUPTED: 'media.reason.interrupted',
}

/** Why an upload failed, in one sentence: a known reason, else the server's message, never a bare code. */
export function failureText(u: Pick<Upload, 'reason' | 'message'>, t: (key: StringKey) => string): string {
  const known = u.reason ? REASONS[u.reason] : undefined
  return known ? t(known) : u.message || t('media.failed')
}

const settled = (status: string) => status === 'ready' || status === 'failed'
/** How far along an upload is: statuses only move forward, so a read never takes one back. */
const STAGE: Record<string, number> = { pending: 0, uploading: 1, processing: 2, ready: 3, failed: 3 }

/**
 * Upload with a progress bar: bytes sent (XHR) first, then the server's `media_event`s. The
 * upload's own answer is the last word (the media as ready, or the error it failed with), so lost
 * events cannot leave it `processing`. After `resync_required` an upload not yet settled is read
 * again (`GET /api/media/{id}`, open to its uploader): ready with its URLs, failed with its reason,
 * or still processing.
 */
export function MediaUpload(props: {
  client: OvasabiClient
  campaign: string
  connection: RealtimeConnection | null
  /** `resync_required` frames so far (see `useLive`): each one reads an unsettled upload again. */
  resyncs?: number
}) {
  const { t } = useI18n()
  const { state, run, reset } = useSubmit(props.client)
  const [upload, setUpload] = useState<Upload | null>(null)
  const [unavailable, setUnavailable] = useState(false)
  const current = useRef<Upload | null>(null)
  current.current = upload

  const resyncs = props.resyncs ?? 0
  useEffect(() => {
    const u = current.current
    if (resyncs === 0 || !u || settled(u.status)) return
    let live = true
    const id = u.media_id
    props.client.media.get(id).then(
      (own) => {
        // Events that came while it was read may already be further along: keep those.
        if (live)
          setUpload((x) =>
            x?.media_id === id && (STAGE[own.status] ?? 0) > (STAGE[x.status] ?? 0)
              ? {
                  ...x,
                  status: own.status,
                  // Past uploading, every byte arrived.
                  progress: own.status === 'failed' ? x.progress : 1,
                  url: own.url ?? x.url,
                  thumbnail_url: own.thumbnail_url ?? x.thumbnail_url,
                  reason: own.reason ?? x.reason,
                }
              : x,
          )
      },
      () => {
        // Unreadable now (offline, or no longer its uploader's token): keep what was heard.
      },
    )
    return () => {
      live = false
    }
  }, [props.client, resyncs])

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
    setUpload(null)
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
      const id = ticket.media_id
      setUpload({ media_id: id, name: file.name, progress: 0, status: 'uploading' })
      const mine = (fn: (u: Upload) => Upload) => setUpload((u) => (u?.media_id === id ? fn(u) : u))
      let media: { status?: string; url?: string | null; thumbnail_url?: string | null } | undefined
      try {
        media = (await props.client.media.put(ticket.upload_url, file, (p) =>
          mine((u) => ({ ...u, progress: Math.max(u.progress, p) })),
        )) as typeof media
      } catch (err) {
        // The server answered: the upload failed, whatever events were lost (its notice says why).
        // No answer (offline) leaves it as the events, or a resync's read, say.
        if (!(err instanceof OvasabiError) || err.status === 0) throw err
        mine((u) => ({
          ...u,
          status: 'failed',
          // An event's reason may already be here; the error's code names the same cause.
          reason: u.reason ?? (REASONS[err.code] ? err.code : undefined),
          message: err.message || u.message,
        }))
        return
      }
      mine((u) => ({
        ...u,
        status: media?.status ?? 'ready',
        progress: 1,
        url: media?.url ?? u.url,
        thumbnail_url: media?.thumbnail_url ?? u.thumbnail_url,
      }))
    })
  }

  if (unavailable || state.unavailable) return <p class="notice">{t('unavailable')}</p>
  return (
    <form class="card-form" onSubmit={submit} data-testid="media-form">
      <div class="field">
        <label for="media-file">{t('media.choose')}</label>
        <input
          id="media-file"
          name="file"
          type="file"
          accept="image/*,video/*"
          required
          // A new file starts afresh: what was said about the previous one no longer applies.
          onChange={() => {
            setUpload(null)
            reset()
          }}
        />
      </div>
      <div class="progress-wrap" aria-live="polite">
        <progress
          data-testid="upload-progress"
          max={100}
          value={Math.round((upload?.progress ?? 0) * 100)}
          aria-label={t('media.progress')}
        />
        <span class="hint" data-testid="upload-status" data-status={upload?.status}>
          {upload ? `${upload.name}: ${statusText(upload, t)}` : '\u00a0'}
        </span>
      </div>
      {upload?.status === 'ready' && upload.thumbnail_url && (
        <img class="thumb" src={upload.thumbnail_url} alt={upload.name} width={96} height={96} />
      )}
      {upload?.status === 'failed' && (
        // No role: the status line above (a live region) already announces the failure.
        <p class="notice" data-tone="danger" data-testid="upload-error">
          {failureText(upload, t)}
        </p>
      )}
      {state.formError && (
        <p class="notice" data-tone="danger" role="alert">
          {noticeText(state.formError, t)}
        </p>
      )}
      <button class="btn btn-soft" type="submit" disabled={!canSubmit(state)}>
        {t('media.upload')}
      </button>
    </form>
  )
}

/** The status line: progress while bytes go, then a word; why it failed is the notice below it. */
function statusText(u: Upload, t: (key: StringKey) => string): string {
  if (u.status === 'failed') return t('media.failed')
  if (u.status === 'ready') return t('media.ready')
  if (u.status === 'processing') return t('media.processing')
  return `${t('media.uploading')} ${Math.round(u.progress * 100)}%`
}
