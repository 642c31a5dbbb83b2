/**
 * Locale tags as callers write them (`FR`, `en_us`, `pt_BR`, `zh-hans`) and as LibreTranslate and
 * catalogs name them (`fr`, `pt-BR`, `zh-Hans`). LibreTranslate compares codes exactly, so a tag
 * is put in BCP 47 case before it is sent, cached or looked up.
 */
export function canonicalLocale(tag: string): string {
  return tag
    .split(/[-_]/)
    .map((part, i) => {
      if (i === 0) return part.toLowerCase()
      if (/^[A-Za-z]{4}$/.test(part)) return part.charAt(0).toUpperCase() + part.slice(1).toLowerCase()
      if (/^([A-Za-z]{2}|\d{3})$/.test(part)) return part.toUpperCase()
      return part.toLowerCase()
    })
    .join('-')
}

/** The script a tag is written in, stated or likely (`zh-TW` is Hant, `zh` Hans, `sr` Cyrl). */
function scriptOf(tag: string): string | undefined {
  try {
    return new Intl.Locale(tag).maximize().script
  } catch {
    return undefined
  }
}

/** `zh-Hant-TW`, `zh-Hant`, `zh`: the tag, then shorter ones (RFC 4647 lookup), lower case. */
function truncations(tag: string): string[] {
  const parts = tag.toLowerCase().split('-')
  return parts.map((_, i) => parts.slice(0, parts.length - i).join('-'))
}

/**
 * The entry of `available` that serves `tag`: the same tag in any case or separator, else the
 * longest entry the tag starts with (`fr-FR` is served by `fr`, `zh-Hant-TW` by `zh-Hant`), else
 * one its likely script starts with (`zh-TW` by `zh-Hant`), else, for a tag naming no region, a
 * regional entry of its language (`regionalFor`). Never one in another script: `zh` (Simplified)
 * does not serve `zh-TW`, nor `sr` (Cyrillic) `sr-Latn`. Undefined when none does.
 */
export function pickLocale<T extends string>(tag: string, available: Iterable<T>): T | undefined {
  const want = canonicalLocale(tag)
  const byTag = new Map<string, T>()
  for (const candidate of available) {
    const key = canonicalLocale(candidate).toLowerCase()
    if (!byTag.has(key)) byTag.set(key, candidate)
  }
  const exact = byTag.get(want.toLowerCase())
  if (exact !== undefined) return exact
  const script = scriptOf(want)
  let likely: string[] = []
  try {
    likely = truncations(new Intl.Locale(want).maximize().toString())
  } catch {
    // Not a tag Intl knows: the written tag's truncations alone.
  }
  for (const prefix of [...truncations(want).slice(1), ...likely]) {
    const candidate = byTag.get(prefix)
    if (candidate === undefined) continue
    const theirs = scriptOf(candidate)
    if (script === undefined || theirs === undefined || theirs === script) return candidate
  }
  return regionalFor(want, script, byTag)
}

/**
 * The entry serving a bare language or language-script tag that nothing more general serves: a
 * catalog may hold `fr-FR` and no `fr`, a LibreTranslate list `zh-TW` and no `zh-Hant`. Among the
 * entries of that language in that script, the one its likely subtags name (`fr` → `fr-FR`, `en`
 * → `en-US`, `zh-Hant` → `zh-TW`, `zh-Hans` → `zh-CN`), else the first by tag (`fr-BE` before
 * `fr-CA`), so the same entries always give the same answer whatever order they come in. A tag
 * naming a region is served by no other region (`en-GB` is not `en-US`): RFC 4647 lookup only
 * shortens it.
 */
function regionalFor<T extends string>(
  want: string,
  script: string | undefined,
  byTag: Map<string, T>,
): T | undefined {
  if (script === undefined || !/^[a-z]{2,3}(-[A-Z][a-z]{3})?$/.test(want)) return undefined
  let likely: string
  let language: string
  try {
    const locale = new Intl.Locale(want)
    language = locale.language
    likely = locale.maximize().toString()
  } catch {
    return undefined
  }
  const same: Array<[string, T]> = []
  for (const [key, candidate] of byTag) {
    try {
      const theirs = new Intl.Locale(key)
      if (theirs.language !== language || scriptOf(key) !== script) continue
      if (theirs.maximize().toString() === likely) return candidate
      same.push([key, candidate])
    } catch {
      // Not a tag Intl knows: no language to compare.
    }
  }
  same.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return same[0]?.[1]
}
