import { type LibreTranslateClient, UpstreamRejectedError } from './libretranslate.client.js'
import { MAX_CHARS } from './localization.schema.js'

export interface BatchedResult {
  text: string
  detected?: string
}

/**
 * Micro-batching in front of LibreTranslate. Strings for one (source, target, format) that
 * arrive within `windowMs` go upstream in one call (at most `limit` strings and `maxChars`
 * characters each; a longer string goes alone); a string that is already queued or in flight is
 * never sent twice (single flight), and a just-translated one is answered from a short in-memory
 * memo that covers the moment before the cache row is visible.
 */
export interface Batcher {
  translate(text: string, source: string, target: string, format: 'text' | 'html'): Promise<BatchedResult>
}

interface Deferred {
  promise: Promise<BatchedResult>
  resolve(value: BatchedResult): void
  reject(err: unknown): void
}

function deferred(): Deferred {
  let resolve!: (v: BatchedResult) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<BatchedResult>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const MEMO_TTL_MS = 60_000
const MEMO_MAX = 10_000
/**
 * One accepted string (at most `MAX_CHARS`) always fits a batch, and instances run with the
 * common `--char-limit 5000` take every batch; a request's 50,000 characters become at least ten
 * calls, each short enough to finish within the upstream timeout.
 */
export const DEFAULT_BATCH_MAX_CHARS = MAX_CHARS

export function createBatcher(deps: {
  client: LibreTranslateClient
  windowMs: number
  limit: number
  /** Characters per upstream call (UTF-16 units, never fewer than the upstream counts). */
  maxChars?: number
  /** Called with the number of strings of each upstream call. */
  onUpstream?: (strings: number) => void
}): Batcher {
  const maxChars = deps.maxChars ?? DEFAULT_BATCH_MAX_CHARS
  const groups = new Map<string, { pending: Map<string, Deferred>; chars: number; timer?: NodeJS.Timeout }>()
  const inflight = new Map<string, Promise<BatchedResult>>()
  const memo = new Map<string, { value: BatchedResult; until: number }>()

  function remember(key: string, value: BatchedResult) {
    if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value as string)
    memo.set(key, { value, until: Date.now() + MEMO_TTL_MS })
  }

  function flush(groupKey: string) {
    const group = groups.get(groupKey)
    if (!group) return
    clearTimeout(group.timer)
    groups.delete(groupKey)
    const [source, target, format] = groupKey.split('\u0000') as [string, string, 'text' | 'html']
    const entries = [...group.pending]
    void send(groupKey, source, target, format, entries)
  }

  async function send(
    groupKey: string,
    source: string,
    target: string,
    format: 'text' | 'html',
    entries: Array<[string, Deferred]>,
  ) {
    try {
      deps.onUpstream?.(entries.length)
      const res = await deps.client.translate(
        entries.map(([text]) => text),
        source,
        target,
        format,
      )
      entries.forEach(([text, d], i) => {
        const value = { text: res.texts[i] as string, detected: res.detected[i] }
        // An empty answer for a non-empty string is no translation (the service answers the
        // source and caches nothing): the next ask goes upstream again.
        if (value.text.trim() !== '' || text.trim() === '') remember(`${groupKey}\u0000${text}`, value)
        d.resolve(value)
      })
    } catch (err) {
      if (err instanceof UpstreamRejectedError && entries.length > 1) {
        // A batch holds strings of several callers. One string the upstream refuses (over its
        // `--char-limit`, detected as a language it cannot translate from) or a batch over its
        // `--batch-limit` must not fail the others: each goes again alone.
        await Promise.all(entries.map((entry) => send(groupKey, source, target, format, [entry])))
        return
      }
      for (const [, d] of entries) d.reject(err)
    } finally {
      for (const [text] of entries) inflight.delete(`${groupKey}\u0000${text}`)
    }
  }

  return {
    translate(text, source, target, format) {
      const groupKey = `${source}\u0000${target}\u0000${format}`
      const key = `${groupKey}\u0000${text}`
      const hit = memo.get(key)
      if (hit && hit.until > Date.now()) return Promise.resolve(hit.value)
      const running = inflight.get(key)
      if (running) return running
      let group = groups.get(groupKey)
      if (group && group.chars + text.length > maxChars) {
        // The queued strings go now rather than wait for the window: they cannot grow any more.
        flush(groupKey)
        group = undefined
      }
      if (!group) {
        group = { pending: new Map(), chars: 0 }
        groups.set(groupKey, group)
      }
      const d = deferred()
      group.pending.set(text, d)
      group.chars += text.length
      inflight.set(key, d.promise)
      if (group.pending.size >= deps.limit || group.chars >= maxChars) flush(groupKey)
      else if (!group.timer) group.timer = setTimeout(() => flush(groupKey), deps.windowMs)
      return d.promise
    },
  }
}
