import type { ReaderTranslator } from './reader-words.js'
import type { LocalizationService } from './localization.service.js'

/**
 * Mails and notifications in their reader's language through the provider chain a page's strings
 * take: each sentence by its key, so a campaign's catalog may word it (`mail.verify.subject` in
 * `de`), else the cache or LibreTranslate. Sentences go in one call each, which the upstream
 * batcher joins.
 */
export function readerTranslator(localization: Pick<LocalizationService, 'translate'>): ReaderTranslator {
  return async (english, locale, campaign) => {
    const sentences = Object.entries(english)
    const results = await Promise.all(
      sentences.map(([key, q]) =>
        localization.translate({ q, source: 'en', target: locale, context: { key } }, campaign),
      ),
    )
    return Object.fromEntries(sentences.map(([key], i) => [key, results[i]!.translations[0]!.text]))
  }
}
