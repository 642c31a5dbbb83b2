import type { Campaign } from '../../../client/index.js'

/** The top-level metadata keys the editor's form has fields for. */
const FORM_KEYS: ReadonlySet<string> = new Set(['features', 'scheduling', 'custom_rules', 'tags'])

/** How much of a key's value the list shows: enough to recognise it, not to read it. */
const PREVIEW_CHARS = 80

/**
 * The campaign's top-level metadata keys the form has no field for (set through the API, or kept
 * from an older version), each with what today's checks say of it, if anything. The form's save
 * sends them back as it found them, so without this list an editor could neither see nor remove them.
 */
export function otherMetadataKeys(c: Campaign): Array<{ key: string; value: unknown; problem?: string }> {
  const metadata = c.metadata as Record<string, unknown>
  const problems = new Map((c.problems ?? []).map((p) => [p.path, p.message]))
  return Object.keys(metadata)
    .filter((key) => !FORM_KEYS.has(key))
    .sort()
    .map((key) => ({ key, value: metadata[key], problem: problems.get(`/metadata/${key}`) }))
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text
}

interface OtherMetadataKeysProps {
  campaign: Campaign
  disabled: boolean
  /** Remove these keys in one merge patch (each set to `null`). */
  onRemove: (keys: string[]) => void
}

/**
 * The list of `otherMetadataKeys`, each with a Remove button. Keys the server refuses to keep (not
 * a setting it knows) must all go in one patch, since it refuses any change that keeps one: with
 * several, one button removes them together.
 */
export function OtherMetadataKeys({ campaign, disabled, onRemove }: OtherMetadataKeysProps) {
  const keys = otherMetadataKeys(campaign)
  if (keys.length === 0) return null
  const refused = keys.filter((k) => k.problem !== undefined).map((k) => k.key)
  return (
    <fieldset class="group other-keys" data-testid="other-metadata">
      <legend>Other metadata keys</legend>
      <p class="hint">
        This form has no fields for these keys (set through the API, or kept from an older version); a save
        keeps them as they are. Remove one to drop it from the campaign.
      </p>
      <ul>
        {keys.map(({ key, value, problem }) => (
          <li key={key} data-key={key}>
            <code>{key}</code> <span class="muted">{preview(value)}</span>
            {problem !== undefined && <span class="field-error">{problem}</span>}
            <button
              class="btn btn-sm btn-soft"
              type="button"
              disabled={disabled}
              onClick={() => onRemove([key])}
              data-testid="remove-metadata-key"
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      {refused.length > 1 && (
        <button
          class="btn btn-sm btn-soft"
          type="button"
          disabled={disabled}
          onClick={() => onRemove(refused)}
          data-testid="remove-refused-keys"
        >
          Remove the {refused.length} keys this server does not know
        </button>
      )}
    </fieldset>
  )
}
