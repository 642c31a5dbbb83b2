import type { TSchema } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import type { SecretResult } from './idempotency.js'
import type { Role } from '../platform/auth/principal.js'
import type { Principal } from '../platform/auth/principal.js'
import type { Db } from '../platform/db/database.js'
import type { Campaign, CampaignStatus } from '../modules/campaign/campaign.schema.js'
import type { Envelope } from './envelope.js'

/** What a handler sees: the filled envelope, the caller, the campaign, and a way to join the commit. */
export interface ActionContext {
  envelope: Envelope
  principal: Principal
  campaign: Campaign
  /** Client IP, for rate limits and fraud rules. */
  ip: string
  /**
   * The client's User-Agent header (for a WebSocket, the upgrade request's): used only to say
   * where a person signed in (a join's sign-in row, as "Your account" lists it).
   */
  userAgent?: string
  /**
   * Whether the answer is kept for retries (an idempotency record under the client's request id);
   * false when the client named no id, so no copy of the request can ask for it again.
   */
  recorded: boolean
  /**
   * Add writes to the transaction that also stores the idempotent response and the analytics
   * event, so the action's effects and its acknowledgement commit together.
   */
  defer(write: (trx: Db) => Promise<void>): void
  /**
   * Like `defer`, but the items of every job of a commit batch that name the same `group` are
   * written by ONE `group.write(trx, items)` call (in job order), after the plain deferred writes:
   * multi-row statements instead of a few round trips per action inside the shared transaction.
   * The write may refine the result object the handler returned (what the commit actually did,
   * where the handler could only tell what it expected): the answer, and its stored copy that a
   * retry of the request gets, follow.
   */
  deferGrouped<T>(group: WriteGroup<T>, item: T): void
  /**
   * Run after the action's writes committed (never for a replayed duplicate): real-time frames
   * and worker nudges that must not announce something a rollback would take back.
   */
  afterCommit(task: () => void | Promise<void>): void
}

/** A batch-level writer (see `ActionContext.deferGrouped`); its identity is the grouping key. */
export interface WriteGroup<T> {
  /**
   * `batch.counterShard`: the shard of `service_campaign_counter` this commit batch owns; a group
   * that counts something adds to that shard (see `addToCounters`), so concurrent batches never
   * wait on one counter row.
   */
  write(trx: Db, items: T[], batch: { counterShard: number }): Promise<void>
}

/** One `deferGrouped` call. */
export interface GroupedWrite {
  group: WriteGroup<any>
  item: unknown
}

export interface ActionResult {
  result: unknown
  message?: string
}

/** One Nexus action: registered once, reachable by its canonical dotted name and its aliases. */
export interface ActionDefinition<P = any> {
  /** Canonical dotted name, e.g. `quote.submit`. */
  name: string
  /** Seed names, e.g. `submit_quote`. */
  aliases?: string[]
  description: string
  payload: TSchema
  /** Minimum role of the caller. */
  role: Role
  /** Campaign feature (in `metadata.features`) that enables this action. */
  feature: string
  /**
   * The campaign statuses the action runs in (else 409 `CAMPAIGN_NOT_ACTIVE`); only `active` when
   * absent. Reading actions a closed page still needs (translation) name more.
   */
  statuses?: readonly CampaignStatus[]
  /** Top-level payload fields (e.g. `password`) stored as "[redacted]" in the analytics log. */
  sensitive?: string[]
  /**
   * Fields of the answer's `result` that are secrets (an ingest URL holding a publishing key):
   * left out of the idempotency record (`withholdSecrets`), so a replay of it is 409
   * `SECRET_NOT_REPLAYED` with `hint` (how to get a new secret) rather than the secret.
   */
  secretResult?: SecretResult
  /**
   * `deferred`: every write goes through `ctx.defer`, so the handler may run before the
   * idempotency record exists (one commit for everything). `immediate`: the handler writes on its
   * own; the request is claimed first so a repeat never runs it twice.
   */
  writes: 'deferred' | 'immediate'
  handler: (ctx: ActionContext, payload: P) => Promise<ActionResult>
}

export interface RegisteredAction extends ActionDefinition {
  validator: Validator
}

/** The action registry. Modules register; the dispatcher resolves. */
export class ActionRegistry {
  private readonly byName = new Map<string, RegisteredAction>()
  private readonly byAlias = new Map<string, RegisteredAction>()
  private fallback?: RegisteredAction

  register<P>(definition: ActionDefinition<P>): void {
    const names = [definition.name, ...(definition.aliases ?? [])]
    for (const n of names) {
      if (this.byName.has(n) || this.byAlias.has(n)) throw new Error(`Action ${n} is registered twice`)
    }
    const registered = { ...definition, validator: Compile(definition.payload) } as RegisteredAction
    this.byName.set(definition.name, registered)
    for (const alias of definition.aliases ?? []) this.byAlias.set(alias, registered)
  }

  /** The handler for dotted events nobody registered (analytics tracking). */
  registerFallback<P>(definition: ActionDefinition<P>): void {
    this.fallback = { ...definition, validator: Compile(definition.payload) } as RegisteredAction
  }

  /**
   * Canonical action for a name or alias; dotted unknown names go to the fallback, except a near
   * miss of a registered action (`quote.submitt`): a typo would otherwise be acknowledged as a
   * tracked event while the action it meant never ran (see `suggest`).
   */
  resolve(name: string): RegisteredAction | undefined {
    const found = this.byName.get(name) ?? this.byAlias.get(name)
    if (found) return found
    if (this.fallback && /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/i.test(name) && !this.suggest(name)) {
      return this.fallback
    }
    return undefined
  }

  /**
   * The registered action an unknown dotted name is a typo of: same namespace (`quote.`), at
   * most two letters inserted, deleted or changed (`quote.submitt`, `user.registr`). Other names
   * in that namespace (`media.play`) are tracked events.
   */
  suggest(name: string): string | undefined {
    const dot = name.indexOf('.')
    if (dot < 1) return undefined
    const namespace = name.slice(0, dot + 1)
    for (const known of this.byName.keys()) {
      if (known.startsWith(namespace) && withinEdits(name, known, 2)) return known
    }
    return undefined
  }

  /** True for the fallback handler, whose events are counted under their own names. */
  isFallback(action: RegisteredAction): boolean {
    return action === this.fallback
  }

  list(): RegisteredAction[] {
    return [...this.byName.values(), ...(this.fallback ? [this.fallback] : [])]
  }

  features(): string[] {
    return [...new Set(this.list().map((a) => a.feature))]
  }
}

/** Whether `a` becomes `b` with at most `max` single-letter insertions, deletions or changes. */
function withinEdits(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost)
      best = Math.min(best, row[j]!)
    }
    if (best > max) return false
    previous = row
  }
  return previous[b.length]! <= max
}
