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

/**
 * The entry of `available` that serves `tag`: the same tag in any case or separator, else the
 * tag's language alone (`fr-FR` is served by `fr`). Undefined when neither is there.
 */
export function pickLocale<T extends string>(tag: string, available: Iterable<T>): T | undefined {
  const want = canonicalLocale(tag).toLowerCase()
  const language = want.split('-')[0]
  let fallback: T | undefined
  for (const candidate of available) {
    const have = canonicalLocale(candidate).toLowerCase()
    if (have === want) return candidate
    if (have === language) fallback ??= candidate
  }
  return fallback
}
