import { ValidationError } from '../../platform/http/errors.js'
import { type CampaignMetadata, type CampaignProblem, CustomRules } from './campaign.schema.js'

// `custom_rules` holds the rules the modules read and, free-form, a campaign's own keys (README,
// "Campaign rules"): what of it would not do what it says, beyond its schema.

export const RULES_PATH = '/metadata/custom_rules'

/** Whether a merge patch names `custom_rules.<key>`; a whole `metadata` (`undefined`) names each. */
export function namesRule(patch: Record<string, unknown> | null | undefined, key: string): boolean {
  if (patch === undefined) return true
  const named = patch?.custom_rules
  return typeof named === 'object' && named !== null && Object.hasOwn(named, key)
}

/** The rules the modules read (see `CustomRules`). */
const RULE_KEYS: readonly string[] = Object.keys(CustomRules.properties)

/**
 * The rule a key of `custom_rules` was most likely meant as: one the modules read that it matches
 * but for case, spaces or hyphens, or within two edits. Such a key is no campaign's own: stored,
 * the admin believed the rule on while every reader fell back to its default.
 */
function meantRule(key: string): string | undefined {
  if (RULE_KEYS.includes(key)) return undefined
  const plain = key
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_')
  let best: { rule: string; distance: number } | undefined
  for (const rule of RULE_KEYS) {
    const distance = editDistance(plain, rule, 2)
    if (distance <= 2 && (!best || distance < best.distance)) best = { rule, distance }
  }
  return best?.rule
}

/** Edits (a swap of two neighbours counting one) from `a` to `b`; `max + 1` once over `max`. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1
  let before: number[] = []
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, before[j - 2]! + 1)
      row.push(d)
    }
    if (Math.min(...row) > max) return max + 1
    before = prev
    prev = row
  }
  return prev[b.length]!
}

/** RFC 6838's registered top-level media types. */
const TOP_LEVEL_TYPES = [
  'application',
  'audio',
  'font',
  'haptics',
  'image',
  'message',
  'model',
  'multipart',
  'text',
  'video',
]
const RESTRICTED_NAME = '[a-z0-9][a-z0-9!#$&^_.+-]{0,126}'
const MEDIA_TYPE = new RegExp(`^(${RESTRICTED_NAME})/${RESTRICTED_NAME}$`)

/** The wildcards uploads are compared with: each stands for the kind's types the media module checks and cleans. */
const MEDIA_WILDCARD = /^(image|video|audio)\/\*$/

/**
 * Why `entry` of `media_allowed_types` matches no upload, or undefined. Uploads compare their
 * type with each entry: `png`, `images/png`, `text/*` or the wildcard of every type is equal to none, and every upload of
 * the campaign was refused. `image/*`, `video/*` and `audio/*` are read (see the media module's
 * `allowedTypes`).
 */
function mediaTypeProblem(entry: string): string | undefined {
  // As uploads read it, without parameters and in lower case (an alias such as image/jpg is
  // a media type too: its shape is all that is checked here).
  const bare = entry.split(';')[0]!.trim().toLowerCase()
  if (MEDIA_WILDCARD.test(bare)) return undefined
  const m = MEDIA_TYPE.exec(bare)
  if (m && TOP_LEVEL_TYPES.includes(m[1]!)) return undefined
  if (bare.includes('*'))
    return `${JSON.stringify(entry)} is a wildcard uploads are not compared with: image/*, video/* and audio/* are; list other types each (e.g. application/pdf)`
  return (
    `${JSON.stringify(entry)} is not a media type: must be type/subtype (e.g. image/png), the type one of ` +
    TOP_LEVEL_TYPES.join(', ')
  )
}

/** A key as a JSON Pointer's segment (RFC 6901). */
const segment = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1')

/**
 * What `custom_rules` holds that would not do what it says: a key that is a near miss of a rule
 * the modules read, an entry of `media_allowed_types` that is no media type. Keys of a campaign's
 * own (`custom_rules` is free-form, see README) are kept. Only the keys `names` accepts are looked at.
 */
export function customRuleProblems(
  metadata: CampaignMetadata | undefined,
  names: (key: string) => boolean,
): Array<CampaignProblem & { summary: string }> {
  const rules = metadata?.custom_rules as unknown
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) return []
  const problems: Array<CampaignProblem & { summary: string }> = []
  for (const key of Object.keys(rules)) {
    const meant = meantRule(key)
    if (meant && names(key))
      problems.push({
        path: `${RULES_PATH}/${segment(key)}`,
        message:
          `is not a rule this server reads: did you mean ${JSON.stringify(meant)}? ` +
          "(a campaign's own keys are kept, but not one this close to a rule's name)",
        summary: `unknown rule ${JSON.stringify(key)}: did you mean ${JSON.stringify(meant)}?`,
      })
  }
  const types = (rules as Record<string, unknown>).media_allowed_types
  if (Array.isArray(types) && names('media_allowed_types')) {
    for (const [i, entry] of types.entries()) {
      const why = typeof entry === 'string' ? mediaTypeProblem(entry) : undefined
      if (why)
        problems.push({
          path: `${RULES_PATH}/media_allowed_types/${i}`,
          message: why,
          summary: `media_allowed_types ${JSON.stringify(entry)} matches no upload`,
        })
    }
  }
  return problems
}

/**
 * `custom_rules` keys and media types as typed (see `customRuleProblems`). `patch`, for a merge
 * patch (`metadata` the merged result): what was stored before these checks is kept while the
 * patch does not name it; what it names is checked as typed, also when it restates the stored value.
 */
export function assertCustomRules(
  metadata: CampaignMetadata | undefined,
  patch?: Record<string, unknown> | null,
) {
  const problems = customRuleProblems(metadata, (key) => namesRule(patch, key))
  if (problems.length === 0) return
  throw new ValidationError(
    `custom_rules that would not do what they say: ${problems.map((p) => p.summary).join('; ')}`,
    problems.map(({ path, message }) => ({ path, message })),
  )
}
