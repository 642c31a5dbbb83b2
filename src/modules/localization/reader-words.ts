/**
 * Translates a mail's or notification's sentences, keyed, from English into a reader's locale: the
 * localization module provides it (a campaign's catalog entry for the key first, then the cache and
 * LibreTranslate). Throws when it cannot.
 */
export type ReaderTranslator = (
  english: Record<string, string>,
  locale: string,
  campaign?: string,
) => Promise<Record<string, string>>

/**
 * A mail's words (a subject and its paragraphs) or a notification's: each an ICU message with
 * `{name}` arguments.
 */
export type ReaderWords = Record<string, string>

/**
 * Each `{name}` in `text` given its value, if it has one of its own (`{constructor}` is no argument);
 * values are not read again: an address may hold braces.
 */
export function fillIn(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{\s*([A-Za-z0-9_]+)\s*\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : whole,
  )
}

/**
 * `english` in the reader's `locale` when there is one and a translator, keyed `{prefix}.{key}`
 * (what a campaign's catalog names them by), then filled in with `values`. English, whole, when
 * anything could not be translated: a mail half in one language reads worse than one in English,
 * and the mail (or notification) goes either way.
 */
export async function readerWords<W extends ReaderWords>(
  english: W,
  values: Record<string, string | number>,
  reader: {
    locale: string | null
    translate: ReaderTranslator | undefined
    prefix: string
    campaign?: string
  },
  onError?: (err: unknown) => void,
): Promise<W> {
  let words: Record<string, string> = english
  if (reader.locale && reader.translate) {
    const keyed = Object.fromEntries(
      Object.entries(english).map(([k, text]) => [`${reader.prefix}.${k}`, text]),
    )
    try {
      const translated = await reader.translate(keyed, reader.locale, reader.campaign)
      words = Object.fromEntries(
        Object.keys(english).map((k) => [k, translated[`${reader.prefix}.${k}`] ?? english[k]!]),
      )
    } catch (err) {
      onError?.(err)
    }
  }
  return Object.fromEntries(Object.entries(words).map(([k, text]) => [k, fillIn(text, values)])) as W
}
