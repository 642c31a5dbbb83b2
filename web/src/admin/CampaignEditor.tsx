import { useRef, useState } from 'preact/hooks'
import { type Campaign, OvasabiError, type OvasabiClient } from '../../../client/index.js'
import { FEATURES } from '../../../src/modules/campaign/features.js'
import { errorText } from './api.js'

/** `datetime-local` wants local time without a zone; the API stores ISO instants. */
const toLocal = (iso?: string) => {
  if (!iso) return ''
  const d = new Date(iso)
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
}
const fromLocal = (v: string) => (v ? new Date(v).toISOString() : undefined)

/** The zones the time-zone field suggests (the server accepts what `Intl` knows). */
const ZONES: string[] = (() => {
  try {
    return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')]
  } catch {
    return ['UTC']
  }
})()
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone

export function NewCampaign(props: { client: OvasabiClient; onCreated: (slug: string) => void }) {
  const [error, setError] = useState<string>()
  const [pending, setPending] = useState(false)
  const busy = useRef(false)
  async function submit(e: Event) {
    e.preventDefault()
    // A second click while the first is on its way would be refused as CAMPAIGN_EXISTS.
    if (busy.current) return
    const f = new FormData(e.currentTarget as HTMLFormElement)
    const title = String(f.get('title') ?? '').trim()
    if (!title) {
      setError('Give the campaign a title.')
      return
    }
    busy.current = true
    setPending(true)
    try {
      const c = await props.client.campaigns.create({
        slug: String(f.get('slug')),
        title,
        draft: f.get('draft') === 'on',
        metadata: { features: ['presence', 'analytics'], scheduling: { frequency: 1 } },
      })
      props.onCreated(c.slug)
    } catch (err) {
      setError(errorText(err))
    } finally {
      busy.current = false
      setPending(false)
    }
  }
  return (
    <section>
      <h1>New campaign</h1>
      <form class="panel form-narrow" onSubmit={submit} data-testid="new-campaign-form">
        <div class="field">
          <label for="new-slug">Slug</label>
          <input
            id="new-slug"
            name="slug"
            required
            pattern="[a-z0-9][a-z0-9_\-]{0,63}"
            placeholder="spring_sale_2025"
          />
          <span class="hint">Lower-case letters, digits, _ and -. Used in URLs: /c/slug.</span>
        </div>
        <div class="field">
          <label for="new-title">Title</label>
          <input id="new-title" name="title" required maxLength={200} />
        </div>
        <label class="check">
          <input type="checkbox" name="draft" /> Start as draft
        </label>
        {error && (
          <p class="notice" data-tone="danger" role="alert">
            {error}
          </p>
        )}
        <button class="btn btn-primary" type="submit" disabled={pending}>
          Create
        </button>
      </form>
    </section>
  )
}

interface EditorProps {
  client: OvasabiClient
  campaign: Campaign
  /** Reload the campaign (after a save, an archive, or a refused save: to learn the latest version). */
  onSaved: () => void
}

/** A save refused because the campaign changed since the form was filled. */
const isConflict = (err: unknown) =>
  err instanceof OvasabiError && (err.code === 'VERSION_CONFLICT' || err.code === 'PRECONDITION_FAILED')

/**
 * Metadata with real controls; saved with the campaign's version so concurrent edits are refused.
 * "Load the latest version" remounts the form (its fields start from the campaign they are given).
 */
export function CampaignEditor(props: EditorProps) {
  const [generation, setGeneration] = useState(0)
  return <EditorForm key={generation} {...props} onReset={() => setGeneration((g) => g + 1)} />
}

function EditorForm(props: EditorProps & { onReset: () => void }) {
  const c = props.campaign
  const meta = c.metadata as Record<string, any>
  const [features, setFeatures] = useState<Set<string>>(new Set((meta.features as string[]) ?? []))
  const [rules, setRules] = useState(JSON.stringify(meta.custom_rules ?? {}, null, 2))
  const [rulesError, setRulesError] = useState<string>()
  const [message, setMessage] = useState<{ tone: string; text: string }>()
  // The version a save was refused at: the latest can be loaded once the reload has brought it.
  const [conflictAt, setConflictAt] = useState<number>()
  const [pending, setPending] = useState(false)
  const busy = useRef(false)
  const archived = c.status === 'archived'

  async function save(e: Event) {
    e.preventDefault()
    // A double click sent the same version twice: the second was refused as a conflict with the first.
    if (busy.current) return
    const f = new FormData(e.currentTarget as HTMLFormElement)
    let customRules: Record<string, unknown>
    try {
      customRules = JSON.parse(rules || '{}')
      if (!customRules || typeof customRules !== 'object' || Array.isArray(customRules))
        throw new Error('must be an object')
      setRulesError(undefined)
    } catch (err) {
      setRulesError(`Rules must be a JSON object (${(err as Error).message})`)
      setMessage(undefined)
      return
    }
    const title = String(f.get('title') ?? '').trim()
    if (!title) {
      setMessage({ tone: 'danger', text: 'Give the campaign a title.' })
      return
    }
    const scheduling: Record<string, unknown> = { ...(meta.scheduling ?? {}) }
    scheduling.frequency = Number(f.get('frequency'))
    scheduling.timezone = String(f.get('timezone') || 'UTC')
    const start = fromLocal(String(f.get('start') ?? ''))
    const end = fromLocal(String(f.get('end') ?? ''))
    if (start) scheduling.start = start
    else delete scheduling.start
    if (end) scheduling.end = end
    else delete scheduling.end
    const tags = String(f.get('tags') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    busy.current = true
    setPending(true)
    try {
      await props.client.campaigns.update(c.slug, {
        title,
        description: String(f.get('description') ?? ''),
        draft: f.get('draft') === 'on',
        version: c.version,
        metadata: {
          ...(meta as object),
          features: FEATURES.filter((x) => features.has(x)),
          scheduling,
          custom_rules: customRules,
          tags,
        },
      })
      setMessage({ tone: 'ok', text: 'Saved.' })
      setConflictAt(undefined)
      props.onSaved()
    } catch (err) {
      if (isConflict(err)) {
        setConflictAt(c.version)
        setMessage({
          tone: 'warn',
          text: 'Someone else saved this campaign after you opened it. Load the latest version (your unsaved changes here are lost), or save again to replace their changes with yours.',
        })
        props.onSaved()
      } else setMessage({ tone: 'danger', text: errorText(err) })
    } finally {
      busy.current = false
      setPending(false)
    }
  }

  async function archive() {
    if (!confirm(`Archive ${c.slug}? Its page stays readable; its actions stop.`)) return
    try {
      await props.client.campaigns.archive(c.slug)
      setMessage({ tone: 'ok', text: 'Archived.' })
      props.onSaved()
    } catch (err) {
      setMessage({ tone: 'danger', text: errorText(err) })
    }
  }

  const toggle = (f: string) =>
    setFeatures((s) => {
      const n = new Set(s)
      if (n.has(f)) n.delete(f)
      else n.add(f)
      return n
    })

  return (
    <form class="panel editor" onSubmit={save} data-testid="campaign-editor">
      <fieldset disabled={archived}>
        <div class="grid-2">
          <div class="field">
            <label for="ed-title">Title</label>
            <input id="ed-title" name="title" defaultValue={c.title} required maxLength={200} />
          </div>
          <div class="field">
            <label for="ed-tags">Tags (comma separated)</label>
            <input id="ed-tags" name="tags" defaultValue={((meta.tags as string[]) ?? []).join(', ')} />
          </div>
        </div>
        <div class="field">
          <label for="ed-desc">Description</label>
          <textarea id="ed-desc" name="description" defaultValue={c.description} maxLength={5000} />
        </div>
        <fieldset class="group">
          <legend>Features</legend>
          <div class="toggles">
            {FEATURES.map((f) => (
              <label key={f} class="toggle">
                <input
                  type="checkbox"
                  checked={features.has(f)}
                  onChange={() => toggle(f)}
                  data-feature={f}
                />
                <span class="toggle-track" aria-hidden="true" />
                <span>{f}</span>
              </label>
            ))}
          </div>
        </fieldset>
        <fieldset class="group">
          <legend>Schedule and broadcast</legend>
          <div class="grid-4 schedule">
            <div class="field">
              <label for="ed-freq">Frequency (Hz)</label>
              <input
                id="ed-freq"
                name="frequency"
                type="number"
                required
                min={0.1}
                max={60}
                step={0.1}
                defaultValue={String(meta.scheduling?.frequency ?? 1)}
              />
            </div>
            <div class="field">
              <label for="ed-start">Start</label>
              <input
                id="ed-start"
                name="start"
                type="datetime-local"
                defaultValue={toLocal(meta.scheduling?.start)}
              />
            </div>
            <div class="field">
              <label for="ed-end">End</label>
              <input
                id="ed-end"
                name="end"
                type="datetime-local"
                defaultValue={toLocal(meta.scheduling?.end)}
              />
            </div>
            <div class="field">
              <label for="ed-tz">Time zone</label>
              <input
                id="ed-tz"
                name="timezone"
                list="ed-tz-zones"
                defaultValue={meta.scheduling?.timezone ?? 'UTC'}
                maxLength={64}
              />
              <datalist id="ed-tz-zones">
                {ZONES.map((z) => (
                  <option key={z} value={z} />
                ))}
              </datalist>
            </div>
          </div>
          {/* The inputs are local times: without saying so, an operator took them for the campaign's zone. */}
          <p class="hint" data-testid="schedule-zone-hint">
            Start and End are in this browser’s time zone ({BROWSER_ZONE}).
          </p>
          <label class="check">
            <input type="checkbox" name="draft" defaultChecked={c.draft} /> Draft (not live)
          </label>
        </fieldset>
        <div class="field" data-invalid={rulesError ? 'true' : 'false'}>
          <label for="ed-rules">Rules (custom_rules JSON)</label>
          <textarea
            id="ed-rules"
            class="code"
            rows={8}
            value={rules}
            onInput={(e) => setRules((e.currentTarget as HTMLTextAreaElement).value)}
            aria-describedby="ed-rules-error"
            spellcheck={false}
          />
          <span class="field-error" id="ed-rules-error">
            {rulesError ?? ''}
          </span>
          <span class="hint">
            e.g. referral_milestones, max_referrals_per_ip, block_disposable_emails, max_cursors
          </span>
        </div>
      </fieldset>
      {message && (
        <p
          class="notice"
          data-tone={message.tone}
          role={message.tone === 'ok' ? 'status' : 'alert'}
          data-testid="editor-message"
        >
          {message.text}
          {conflictAt !== undefined && (
            <>
              {' '}
              <button
                class="btn btn-sm btn-soft"
                type="button"
                disabled={c.version === conflictAt}
                onClick={props.onReset}
                data-testid="load-latest"
              >
                {c.version === conflictAt ? 'Loading the latest version…' : `Load version ${c.version}`}
              </button>
            </>
          )}
        </p>
      )}
      <div class="actions">
        <button class="btn btn-primary" type="submit" disabled={archived || pending}>
          Save changes
        </button>
        <span class="muted">version {c.version}</span>
        {!archived && (
          <button class="btn btn-danger push-right" type="button" onClick={archive}>
            Archive
          </button>
        )}
      </div>
    </form>
  )
}
