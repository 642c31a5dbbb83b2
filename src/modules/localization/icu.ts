/**
 * ICU message placeholders (`{name}`, `{count, number}`): machine translation tends to
 * translate or reorder the argument names, which breaks the message at runtime.
 */
const PLACEHOLDER = /\{\s*([A-Za-z0-9_]+)\s*(?:,[^{}]*)?\}/g

/** Argument names of the simple placeholders in a message, in order. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string)
}

/** Same multiset of argument names (order may differ between languages). */
export function samePlaceholders(a: string, b: string): boolean {
  const pa = placeholders(a).sort()
  const pb = placeholders(b).sort()
  return pa.length === pb.length && pa.every((p, i) => p === pb[i])
}

/**
 * Put the source's placeholders back into a machine translation: when the names changed but
 * the count did not, each placeholder of the output is replaced, in order, by the source's.
 */
export function restorePlaceholders(source: string, translated: string): string {
  if (samePlaceholders(source, translated)) return translated
  const original = [...source.matchAll(PLACEHOLDER)].map((m) => m[0])
  const found = [...translated.matchAll(PLACEHOLDER)]
  if (original.length === 0 || found.length !== original.length) return translated
  let i = 0
  return translated.replace(PLACEHOLDER, () => original[i++] as string)
}
