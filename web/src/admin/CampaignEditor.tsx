import { useState } from 'preact/hooks'
import { type Campaign, OvasabiError, type OvasabiClient } from '../../../client/index.js'
import { FEATURES } from '../../../src/modules/campaign/features.js'
import { errorText } from './api.js'
import { removeMetadataKeys } from './campaign-merge-patch.js'
import { OtherMetadataKeys } from './OtherMetadataKeys.js'
import { ScheduleFields, scheduleValue } from './ScheduleFields.js'
import { localTime } from './ui.js'
import { useOneAtATime } from './one-at-a-time.js'

interface EditorProps {
  client: OvasabiClient
  campaign: Campaign
  /**
   * Whether the key is an admin's (undefined: not known yet): only an admin may archive or restore,
   * so an editor's key is not offered them.
   */
  admin?: boolean
  /** Reload the campaign (after a save, an archive, or a refused save: to learn the latest version). */
  onSaved: () => void
}

/** A change refused because the campaign changed since the form was shown. */
const isConflict = (err: unknown) =>
  err instanceof OvasabiError && (err.code === 'VERSION_CONFLICT' || err.code === 'PRECONDITION_FAILED')

const errorCode = (err: unknown) => (err instanceof OvasabiError ? err.code : undefined)

/** The schedule keys that, unreadable, hold the campaign as a draft (see `problems`). */
const SCHEDULE_TIMES = new Set(['/metadata/scheduling/start', '/metadata/scheduling/end'])

/** The form field a problem's path names, in the words the form uses. */
const FIELD_NAMES: Record<string, string> = {
  '/metadata': 'Settings',
  '/metadata/scheduling/start': 'Start',
  '/metadata/scheduling/end': 'End',
  '/metadata/scheduling/timezone': 'Time zone',
  '/metadata/scheduling/frequency': 'Frequency',
  '/metadata/tags': 'Tags',
  '/metadata/features': 'Features',
  '/metadata/custom_rules': 'Rules',
  '/title': 'Title',
  '/description': 'Description',
}
const problemField = (path: string) => FIELD_NAMES[path] ?? path

/**
 * A stored list of strings as the form shows it: a row stored before lists were checked may hold
 * one string (`"tags": "spring"`, kept as that one) or anything else (`"features": {…}`, read as
 * none, as visitors read it), which made the editor fail to open at all.
 */
const strings = (value: unknown): string[] =>
  Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : typeof value === 'string'
      ? [value]
      : []

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
  const [features, setFeatures] = useState<Set<string>>(new Set(strings(meta.features)))
  const [rules, setRules] = useState(JSON.stringify(meta.custom_rules ?? {}, null, 2))
  const [rulesError, setRulesError] = useState<string>()
  const [message, setMessage] = useState<{ tone: string; text: string }>()
  // The version a save was refused at: the latest can be loaded once the reload has brought it.
  const [conflictAt, setConflictAt] = useState<number>()
  const work = useOneAtATime()
  const archived = c.status === 'archived'
  // Set once the server refused this key a restore: only an admin's key may unarchive.
  const [restoreRefused, setRestoreRefused] = useState(false)
  // What a row stored before its checks holds to fix (the server names them for editors only).
  const problems = c.problems ?? []
  // Held as a draft by the server (a start or end it cannot read), not by the Draft box: a legacy
  // date it reads in the campaign's zone is named in `problems` too, yet the campaign is open.
  const heldClosed = c.status === 'draft' && !c.draft && problems.some((p) => SCHEDULE_TIMES.has(p.path))

  async function save(e: Event) {
    e.preventDefault()
    // A double click sent the same version twice: the second was refused as a conflict with the first.
    if (work.busy()) return
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
    // The keys the form edits, and only those: a campaign stored before scheduling was closed may
    // hold others, which the server refuses by name and the form has no field to remove.
    const scheduling: Record<string, unknown> = {}
    scheduling.frequency = Number(f.get('frequency'))
    scheduling.timezone = String(f.get('timezone') || 'UTC')
    const start = scheduleValue(c, 'start', String(f.get('start') ?? ''), scheduling.timezone as string)
    const end = scheduleValue(c, 'end', String(f.get('end') ?? ''), scheduling.timezone as string)
    if (start) scheduling.start = start
    else delete scheduling.start
    if (end) scheduling.end = end
    else delete scheduling.end
    const tags = String(f.get('tags') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    await change(async () => {
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
    }, 'Saved.')
  }

  /**
   * One change at a time: `run` with the form busy, then `ok` shown and the campaign reloaded, or
   * the refusal given to `failed` (by default `refused`).
   */
  async function change(run: () => Promise<unknown>, ok: string, failed: (err: unknown) => void = refused) {
    await work.run(async () => {
      try {
        await run()
        setMessage({ tone: 'ok', text: ok })
        setConflictAt(undefined)
        props.onSaved()
      } catch (err) {
        failed(err)
      }
    })
  }

  /**
   * A save, removal, archive or restore the server refused: what the editor can do about it.
   * `stale` words a conflict for a change other than a save (which "save again" would not redo).
   */
  function refused(err: unknown, stale?: string) {
    if (isConflict(err)) {
      setConflictAt(c.version)
      setMessage({
        tone: 'warn',
        text:
          stale ??
          'Someone else saved this campaign after you opened it. Load the latest version (your unsaved changes here are lost), or save again to replace their changes with yours.',
      })
      props.onSaved()
    } else if (errorCode(err) === 'CAMPAIGN_ARCHIVED') {
      // Archived by someone else since the form was opened: the reload shows it read-only.
      setMessage({
        tone: 'warn',
        text: 'This campaign was archived after you opened it, so your changes were not saved. Restore it to edit it again.',
      })
      props.onSaved()
    } else setMessage({ tone: 'danger', text: errorText(err) })
  }

  /**
   * Removes top-level metadata keys the form has no field for, as a merge patch setting each to
   * `null` on the version shown (`If-Match`): the form's own save sends them back as it found them.
   */
  async function removeKeys(keys: string[]) {
    if (work.busy()) return
    if (!confirm(`Remove ${keys.join(', ')} from the metadata of ${c.slug}?`)) return
    await change(
      () => removeMetadataKeys(props.client, c.slug, keys, c.version),
      `Removed ${keys.join(', ')}.`,
    )
  }

  /** Archives the campaign as shown (`If-Match`): one changed meanwhile is left for a second look. */
  async function archive() {
    if (work.busy()) return
    if (!confirm(`Archive ${c.slug}? Its page stays readable; its actions stop.`)) return
    await change(
      () => props.client.campaigns.archive(c.slug, { ifMatch: c.version }),
      'Archived.',
      (err) =>
        refused(
          err,
          'Someone else changed this campaign after you opened it, so it was not archived. Load the latest version to see their changes, then archive it again.',
        ),
    )
  }

  async function restore() {
    if (work.busy()) return
    await change(
      // As shown (`If-Match`): a campaign restored and changed again meanwhile is not restored blind.
      () => props.client.campaigns.unarchive(c.slug, { ifMatch: c.version }),
      'Restored: the campaign is editable again and its actions run.',
      (err) => {
        if (errorCode(err) === 'FORBIDDEN' || (err instanceof OvasabiError && err.status === 403)) {
          setRestoreRefused(true)
          setMessage({ tone: 'warn', text: 'Only an admin can restore an archived campaign.' })
        } else
          refused(
            err,
            'Someone else changed this campaign after you opened it, so it was not restored. Load the latest version to see it as it is now, then restore it if it is still archived.',
          )
      },
    )
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
      {archived && (
        <div class="notice archived-note" data-tone="warn" role="status" data-testid="archived-note">
          <p>
            <strong>Archived{c.archived_at ? ` on ${localTime(c.archived_at)}` : ''}.</strong> This campaign
            is read-only: its settings cannot be changed and its page takes no actions. Its leads, media,
            webhooks and stats stay open. Restore it to edit it again (admins only).
          </p>
          {props.admin === false && (
            <p data-testid="restore-admin-only">Only an admin can restore it: this key is an editor’s.</p>
          )}
          {!restoreRefused && props.admin !== false && (
            <button
              class="btn btn-sm btn-primary"
              type="button"
              onClick={restore}
              disabled={work.pending}
              data-testid="restore-campaign"
            >
              Restore
            </button>
          )}
        </div>
      )}
      {problems.length > 0 && (
        <div class="notice problems-note" data-tone="warn" role="status" data-testid="campaign-problems">
          <p>
            <strong>This campaign holds settings stored before they were checked.</strong>{' '}
            {heldClosed
              ? 'It is held closed to visitors, as a draft, until they are fixed: save the form with the fields below corrected.'
              : 'Save the form with the fields below corrected to fix them.'}
          </p>
          <ul>
            {problems.map((p) => (
              <li key={p.path} data-path={p.path}>
                <strong>{problemField(p.path)}</strong> (<code>{p.path}</code>): {p.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <fieldset disabled={archived}>
        <div class="grid-2">
          <div class="field">
            <label for="ed-title">Title</label>
            <input id="ed-title" name="title" defaultValue={c.title} required maxLength={200} />
          </div>
          <div class="field">
            <label for="ed-tags">Tags (comma separated)</label>
            <input id="ed-tags" name="tags" defaultValue={strings(meta.tags).join(', ')} />
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
        <ScheduleFields campaign={c} />
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
        <OtherMetadataKeys campaign={c} disabled={work.pending} onRemove={removeKeys} />
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
        {!archived && (
          <button class="btn btn-primary" type="submit" disabled={work.pending}>
            Save changes
          </button>
        )}
        <span class="muted">version {c.version}</span>
        {!archived && props.admin !== false && (
          <button
            class="btn btn-danger push-right"
            type="button"
            onClick={archive}
            disabled={work.pending}
            data-testid="archive-campaign"
          >
            Archive
          </button>
        )}
      </div>
    </form>
  )
}
