import { Compile } from 'typebox/compile'
import type { ActionRegistry } from '../../nexus/registry.js'
import { ValidationError } from '../../platform/http/errors.js'
import { hasMarkPile, isBlank, MAX_COMBINING_MARKS } from '../../platform/text.js'
import {
  AT_APPLY_RULES,
  EMAIL_VERIFIED_EVENT,
  type Campaign,
  CampaignMetadata,
  type CampaignProblem,
  knownTimeZone,
  type MergePatchCampaignBody,
  SCHEDULING_KEYS,
  storedProblems,
} from './campaign.schema.js'
import { customRuleProblems, namesRule, RULES_PATH } from './custom-rules.js'
import { applyMergePatch } from './merge-patch.js'

// What a campaign must satisfy when it is written, beyond its schema.

/** A merge patch adds to what is stored, so its result is bounded as a whole body is (BODY_LIMIT's default). */
const METADATA_MAX_BYTES = 1024 * 1024
const metadataValidator = Compile(CampaignMetadata)

/** Whether a merge patch's `metadata` names `scheduling.<key>` (to set it, or `null` to remove it). */
function patchNames(patch: Record<string, unknown> | null, key: string): boolean {
  const scheduling = patch?.scheduling
  return typeof scheduling === 'object' && scheduling !== null && Object.hasOwn(scheduling, key)
}

/**
 * A schedule whose end is not after its start takes the campaign from `scheduled` straight to
 * `ended`, never `active`: most likely two swapped dates, refused where they are typed.
 * `patch`, for a merge patch (`metadata` is then the merged result): a time zone stored before
 * zones were checked is not the patch's to answer for while the patch does not name it; one it
 * names is checked as typed, also when it restates the stored one (as a whole `metadata` is).
 */
export function assertSchedule(
  metadata: CampaignMetadata | undefined,
  patch?: Record<string, unknown> | null,
): void {
  const { start, end, timezone } = metadata?.scheduling ?? {}
  const kept = patch !== undefined && !patchNames(patch, 'timezone')
  if (timezone !== undefined && !kept && !knownTimeZone(timezone)) {
    throw new ValidationError(`Unknown time zone ${JSON.stringify(timezone)}`, [
      {
        path: '/metadata/scheduling/timezone',
        message: 'must be an IANA time zone, e.g. UTC or Europe/Berlin',
      },
    ])
  }
  for (const [key, at] of [
    ['start', start],
    ['end', end],
  ] as const) {
    // RFC 3339 allows a leap second (`23:59:60Z`), which `Date` cannot read: the instant would be
    // ignored, and the campaign active before its start or after its end.
    if (at !== undefined && Number.isNaN(Date.parse(at))) {
      throw new ValidationError(`scheduling.${key} is not an instant this server can compare`, [
        {
          path: `/metadata/scheduling/${key}`,
          message: 'must be a date-time without a leap second, e.g. 2026-03-29T02:30:00+02:00',
        },
      ])
    }
  }
  if (start && end && Date.parse(end) <= Date.parse(start)) {
    throw new ValidationError('The campaign would end before it starts', [
      { path: '/metadata/scheduling/end', message: 'must be after scheduling.start' },
    ])
  }
}

/**
 * A patch that leaves `metadata` alone (a title, a description, `draft`) keeps what is stored, so
 * what is stored must pass the checks a merge patch naming none of it would make: a row written
 * before them (`features` not a list, a schedule that cannot be read or a date without an offset,
 * an unknown top-level key…) is refused with 400 `VALIDATION_FAILED` naming each stored path, for
 * the same patch to fix (as `application/merge-patch+json`, naming each with its fix or `null`).
 * Saved as it was, it read as a valid campaign while its reads failed or held it closed. What a
 * merge patch keeps while it leaves it alone (an unknown time zone, keys `scheduling` held before
 * it was closed) is kept here too.
 */
export function assertStoredMetadata(stored: Pick<Campaign, 'slug' | 'metadata'>): void {
  const blocking = storedProblems(stored).filter((p) => !p.kept)
  if (blocking.length === 0) return
  throw new ValidationError(
    `Campaign ${stored.slug} holds metadata stored before today's checks that must be fixed in the ` +
      `same patch: ${blocking.map((p) => p.path).join(', ')}`,
    blocking.map(({ path, message }) => ({ path, message })),
  )
}

export interface MergePatchFields {
  title?: string
  description?: string
  draft?: boolean
  metadata?: Record<string, unknown> | null
}

/** What a merge patch's top-level `null` resets a member to: what a campaign created without it holds. */
const REMOVED_MEMBER = { description: '', draft: false } as const

/**
 * A merge patch's top-level members with each `null` (RFC 7396: remove the member) read as the
 * campaign's default for it (see `REMOVED_MEMBER`); `metadata: null` is left to `mergedMetadata`.
 * A campaign always has a title and there is none to go back to: `"title": null` is refused.
 */
export function mergePatchFields(fields: Omit<MergePatchCampaignBody, 'version'>): MergePatchFields {
  if (fields.title === null) {
    throw new ValidationError('The campaign title cannot be removed', [
      { path: '/title', message: 'cannot be null: a campaign always has a title; send a new one instead' },
    ])
  }
  const out: Record<string, unknown> = { ...fields }
  for (const [key, value] of Object.entries(REMOVED_MEMBER)) if (out[key] === null) out[key] = value
  return out as MergePatchFields
}

/**
 * A title of spaces (or of anything else that draws nothing: zero-width spaces, Hangul fillers)
 * passes `minLength` but names nothing: the console's list and the campaign page showed a blank
 * where it belongs.
 */
export function assertTitle(title: string | undefined): void {
  if (title !== undefined && isBlank(title)) {
    throw new ValidationError('The campaign title is blank', [
      { path: '/title', message: 'must not be blank' },
    ])
  }
}

/**
 * Text every visitor is shown (title, description, tags) with more than a few combining marks on
 * one character ("Zalgo" text) draws over the lines around it: refused, naming the field.
 */
export function assertDisplayText(fields: { title?: string; description?: string; tags?: unknown }): void {
  const piled: string[] = []
  if (fields.title !== undefined && hasMarkPile(fields.title)) piled.push('/title')
  if (fields.description !== undefined && hasMarkPile(fields.description)) piled.push('/description')
  if (Array.isArray(fields.tags)) {
    for (const [i, tag] of fields.tags.entries())
      if (typeof tag === 'string' && hasMarkPile(tag)) piled.push(`/metadata/tags/${i}`)
  }
  if (piled.length === 0) return
  throw new ValidationError(
    `Too many combining marks on one character in ${piled.join(', ')}`,
    piled.map((path) => ({
      path,
      message: `must not stack more than ${MAX_COMBINING_MARKS} combining marks on one character`,
    })),
  )
}

/**
 * Tags as typed (a whole `metadata`'s, or a merge patch's when it names them: tags stored before
 * this check are kept while a patch leaves them alone). A tag that draws nothing showed a blank
 * chip on the campaign page; one with spaces around it (`" spring"`) was never found by
 * `?tag=spring`; the same tag twice showed twice. Each is refused, naming it.
 */
export function assertTags(tags: unknown): void {
  if (!Array.isArray(tags)) return
  const seen = new Set<string>()
  const problems: Array<{ path: string; message: string }> = []
  for (const [i, tag] of tags.entries()) {
    if (typeof tag !== 'string') continue
    const path = `/metadata/tags/${i}`
    if (isBlank(tag)) problems.push({ path, message: 'must not be blank' })
    else if (tag !== tag.trim()) problems.push({ path, message: 'must not begin or end with spaces' })
    else if (seen.has(tag)) problems.push({ path, message: `repeats the tag ${JSON.stringify(tag)}` })
    seen.add(tag)
  }
  if (problems.length === 0) return
  throw new ValidationError(
    `Tags that cannot be shown or found: ${problems.map((p) => p.path).join(', ')}`,
    problems,
  )
}

/**
 * Keys `stored.scheduling` held before it was closed (see `Scheduling`) that the patch leaves
 * alone: kept as they are, and not the patch's to answer for. One it names is checked as typed.
 */
function legacySchedulingKeys(stored: CampaignMetadata, patch: Record<string, unknown>): string[] {
  const held = stored.scheduling as Record<string, unknown> | undefined
  const named = patch.scheduling
  if (!held || (named !== undefined && (typeof named !== 'object' || named === null || Array.isArray(named))))
    return []
  return Object.keys(held).filter(
    (key) => !SCHEDULING_KEYS.includes(key) && !(named !== undefined && Object.hasOwn(named, key)),
  )
}

/**
 * The validator's complaints as the request's paths. An unknown key is named by its own path
 * (`/metadata/scheduling/colour` in the body), once: TypeBox reports it both there and on its parent.
 */
function metadataErrors(merged: unknown) {
  return [...metadataValidator.Errors(merged)]
    .filter((e) => e.keyword !== 'additionalProperties')
    .map((e) => ({
      path: `/metadata${e.instancePath}`,
      message: e.schemaPath.endsWith('/additionalProperties') ? 'is not a known property' : e.message,
    }))
}

/** Stored metadata with a merge patch applied, validated as a whole body's metadata is. */
export function mergedMetadata(
  stored: CampaignMetadata,
  patch: Record<string, unknown> | null,
): CampaignMetadata {
  // `"metadata": null` removes the member, which a campaign always has: back to none set.
  const merged = (patch === null ? {} : applyMergePatch(stored, patch)) as Record<string, unknown>
  const legacy = patch === null ? [] : legacySchedulingKeys(stored, patch)
  let checked = merged
  if (legacy.length > 0) {
    const scheduling = { ...(merged.scheduling as Record<string, unknown>) }
    for (const key of legacy) delete scheduling[key]
    checked = { ...merged, scheduling }
  }
  if (!metadataValidator.Check(checked)) {
    throw new ValidationError('The merged campaign metadata is invalid', metadataErrors(checked))
  }
  if (Buffer.byteLength(JSON.stringify(merged)) > METADATA_MAX_BYTES) {
    throw new ValidationError('The merged campaign metadata is too large', [
      { path: '/metadata', message: `must be at most ${METADATA_MAX_BYTES} bytes as JSON` },
    ])
  }
  return merged
}

/** What the checks ask of the action registry: the names `referral_qualifies_on` may hold. */
export type QualifyingActions = Pick<ActionRegistry, 'resolve' | 'isFallback' | 'suggest' | 'list'>

/** Whether the referral service acts on `on`: an at-join rule, a registered action or alias, a tracked event. */
function qualifyingRule(on: string, actions: QualifyingActions | undefined): boolean {
  if (AT_APPLY_RULES.includes(on) || on === EMAIL_VERIFIED_EVENT) return true
  // Without a registry (a service built on its own), the shape an action or event name has.
  if (!actions) return /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/i.test(on)
  const action = actions.resolve(on)
  if (!action) return false
  // A tracked event that differs from a registered action only in case (`Quote.Submit`) is a typo.
  return !actions.isFallback(action) || registeredAs(on.toLowerCase(), actions) === undefined
}

/** The registered action or alias `name` is (not a tracked event), or undefined. */
function registeredAs(name: string, actions: QualifyingActions): string | undefined {
  const action = actions.resolve(name)
  return action && !actions.isFallback(action) ? name : undefined
}

/** What a refused rule was most likely meant as: trimmed, lower-cased, `_` for `.`, or a near miss. */
function meantAs(on: string, actions: QualifyingActions | undefined): string | undefined {
  const trimmed = on.trim().toLowerCase()
  for (const candidate of [on.trim(), trimmed, trimmed.replace(/_/g, '.'), trimmed.replace(/\./g, '_')]) {
    if (candidate && candidate !== on && [...AT_APPLY_RULES, EMAIL_VERIFIED_EVENT].includes(candidate))
      return candidate
    if (candidate && candidate !== on && actions && registeredAs(candidate, actions)) return candidate
  }
  return actions?.suggest(trimmed)
}

/** What a refused `referral_qualifies_on` is told: the error's message and its detail's. */
interface QualifiesOnRefusal {
  message: string
  detail: string
  meant?: string
}

function qualifiesOnRefusal(
  metadata: CampaignMetadata | undefined,
  actions: QualifyingActions | undefined,
): QualifiesOnRefusal | undefined {
  const on = (metadata?.custom_rules as Record<string, unknown> | undefined)?.referral_qualifies_on
  if (typeof on !== 'string' || qualifyingRule(on, actions)) return undefined
  const names = new Set([...AT_APPLY_RULES, EMAIL_VERIFIED_EVENT])
  let tracked = !actions
  for (const action of actions?.list() ?? []) {
    if (actions!.isFallback(action)) tracked = true
    else for (const name of [action.name, ...(action.aliases ?? [])]) names.add(name)
  }
  const meant = meantAs(on, actions)
  return {
    message:
      `No action named ${JSON.stringify(on)} qualifies a referral` +
      (meant ? `: did you mean ${JSON.stringify(meant)}?` : ''),
    detail:
      `must be one of ${[...names].sort().join(', ')}` +
      (tracked ? ", or a tracked event's dotted name (e.g. tour.finished)" : ''),
    meant,
  }
}

/**
 * `custom_rules.referral_qualifies_on` names what the referral service qualifies a pending
 * referral on: an at-join rule (`register`…), a registered action or one of its aliases, or a
 * tracked event's dotted name. Anything else (`"quote.submit "`, `quote_submit`, a near miss of a
 * registered action, which the dispatcher refuses) is never done, and left every referral of the
 * campaign pending forever. `patch`, for a merge patch (`metadata` the merged result): a rule
 * stored before it was checked is kept while the patch does not name it (as a time zone is).
 */
export function assertQualifiesOn(
  metadata: CampaignMetadata | undefined,
  patch?: Record<string, unknown> | null,
  actions?: QualifyingActions,
): void {
  if (!namesRule(patch, 'referral_qualifies_on')) return
  const refusal = qualifiesOnRefusal(metadata, actions)
  if (!refusal) return
  throw new ValidationError(refusal.message, [
    { path: `${RULES_PATH}/referral_qualifies_on`, message: refusal.detail },
  ])
}

/**
 * What `custom_rules` stored before its checks holds that they refuse (a near-miss key, a media
 * type that is none, a `referral_qualifies_on` that qualifies nothing): kept while a patch leaves
 * it alone, and shown to editors in `problems` until fixed.
 */
export function ruleProblems(
  metadata: CampaignMetadata | undefined,
  actions?: QualifyingActions,
): CampaignProblem[] {
  const problems: CampaignProblem[] = customRuleProblems(metadata, () => true).map(({ path, message }) => ({
    path,
    message,
  }))
  const refusal = qualifiesOnRefusal(metadata, actions)
  if (refusal)
    problems.push({
      path: `${RULES_PATH}/referral_qualifies_on`,
      message:
        'names nothing the referral service acts on: every referral of the campaign stays pending until ' +
        `it ${refusal.detail.replace(/^must be/, 'is set to')}` +
        (refusal.meant ? ` (did you mean ${JSON.stringify(refusal.meant)}?)` : '') +
        ', or removed',
    })
  return problems.map((p) => ({ ...p, kept: true }))
}
