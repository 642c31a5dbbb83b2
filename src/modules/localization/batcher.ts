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
  /** What the memo holds: entries, and their estimated size in bytes (see `memoMaxBytes`). */
  memoSize(): { entries: number; bytes: number }
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
 * The memo's default size bound. Counted, not measured: 2 bytes per UTF-16 unit of an entry's key
 * (which holds the source text) and translation, plus `MEMO_ENTRY_OVERHEAD` for the objects around
 * them. 10,000 strings of 5,000 characters held 100–200 MB per node; 4 MB still covers every
 * string of a few full requests for the moment before their cache rows are visible.
 */
export const DEFAULT_MEMO_MAX_BYTES = 4 * 1024 * 1024
const MEMO_ENTRY_OVERHEAD = 128
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
  /** The memo's size bound in bytes, as estimated (default `DEFAULT_MEMO_MAX_BYTES`). */
  memoMaxBytes?: number
}): Batcher {
  const maxChars = deps.maxChars ?? DEFAULT_BATCH_MAX_CHARS
  const memoMaxBytes = deps.memoMaxBytes ?? DEFAULT_MEMO_MAX_BYTES
  const groups = new Map<string, { pending: Map<string, Deferred>; chars: number; timer?: NodeJS.Timeout }>()
  const inflight = new Map<string, Promise<BatchedResult>>()
  /** In least recently used order (a Map iterates in insertion order; a hit moves to the end). */
  const memo = new Map<string, { value: BatchedResult; until: number; bytes: number }>()
  let memoBytes = 0

  function forget(key: string) {
    const entry = memo.get(key)
    if (!entry) return
    memo.delete(key)
    memoBytes -= entry.bytes
  }

  function remember(key: string, value: BatchedResult) {
    forget(key)
    const bytes = MEMO_ENTRY_OVERHEAD + 2 * (key.length + value.text.length + (value.detected?.length ?? 0))
    // One entry larger than the whole bound is not kept (it would push out everything else).
    if (bytes > memoMaxBytes) return
    // Bounded by entries and by size, least recently used out first: a flood of long strings
    // otherwise held hundreds of megabytes, and nothing shrank it.
    while (memo.size > 0 && (memo.size >= MEMO_MAX || memoBytes + bytes > memoMaxBytes)) {
      forget(memo.keys().next().value as string)
    }
    memo.set(key, { value, until: Date.now() + MEMO_TTL_MS, bytes })
    memoBytes += bytes
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
      if (hit && hit.until > Date.now()) {
        // Now the most recently used.
        memo.delete(key)
        memo.set(key, hit)
        return Promise.resolve(hit.value)
      }
      if (hit) forget(key)
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
    memoSize: () => ({ entries: memo.size, bytes: memoBytes }),
  }
}
