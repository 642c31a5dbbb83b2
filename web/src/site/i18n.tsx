import { type ComponentChildren, createContext } from 'preact'
import { useCallback, useContext, useEffect, useState } from 'preact/hooks'
import type { OvasabiClient } from '../../../client/index.js'
import { LANGUAGES, STRINGS, type StringKey } from './strings.js'

type Catalog = Partial<Record<StringKey, string>>

export type I18nStatus = 'idle' | 'loading' | 'unavailable' | 'error'

interface I18n {
  lang: string
  status: I18nStatus
  available: boolean
  languages: typeof LANGUAGES
  t: (key: StringKey) => string
  setLang: (code: string) => void
}

const I18nContext = createContext<I18n>({
  lang: 'en',
  status: 'idle',
  available: true,
  languages: LANGUAGES,
  t: (key) => STRINGS[key],
  setLang: () => {},
})

export const useI18n = () => useContext(I18nContext)

const cacheKey = (lang: string) => `ovasabi.i18n.${lang}`

/** Cached translations are kept only while their English source is unchanged. */
function readCache(lang: string): Catalog {
  try {
    const raw = JSON.parse(localStorage.getItem(cacheKey(lang)) ?? '{}') as Record<
      string,
      { s: string; t: string }
    >
    const out: Catalog = {}
    for (const [k, v] of Object.entries(raw)) if (STRINGS[k as StringKey] === v.s) out[k as StringKey] = v.t
    return out
  } catch {
    return {}
  }
}

function writeCache(lang: string, catalog: Catalog): void {
  const raw: Record<string, { s: string; t: string }> = {}
  for (const [k, t] of Object.entries(catalog)) raw[k] = { s: STRINGS[k as StringKey], t: t as string }
  try {
    localStorage.setItem(cacheKey(lang), JSON.stringify(raw))
  } catch {
    // storage full or blocked: translations are simply fetched again next time
  }
}

function translatedText(t: { text?: string; translatedText?: string } | undefined): string | undefined {
  const v = t?.text ?? t?.translatedText
  return typeof v === 'string' && v.length > 0 ? v : undefined
}

/**
 * Translates the page's strings through `/api/translate`, one request per string so each carries
 * its own context key (the server batches concurrent requests upstream and caches per context),
 * and keeps the results in localStorage.
 */
export function I18nProvider(props: {
  client: OvasabiClient
  campaign: string
  children: ComponentChildren
}) {
  const { client, campaign } = props
  const [lang, setLangState] = useState('en')
  const [catalog, setCatalog] = useState<Catalog>({})
  const [status, setStatus] = useState<I18nStatus>('idle')
  const [available, setAvailable] = useState(true)

  const load = useCallback(
    async (target: string) => {
      if (target === 'en') {
        setCatalog({})
        setStatus('idle')
        return
      }
      const cached = readCache(target)
      const missing = (Object.keys(STRINGS) as StringKey[]).filter((k) => !(k in cached))
      setCatalog(cached)
      if (missing.length === 0) return setStatus('idle')
      setStatus('loading')
      const results = await Promise.allSettled(
        missing.map((key) =>
          client.translation.translate({
            q: STRINGS[key],
            source: 'en',
            target,
            format: 'text',
            campaign_id: campaign,
            context: { page: campaign, key, locale: target, description: 'Marketing launch page UI text' },
          }),
        ),
      )
      const next: Catalog = { ...cached }
      let unavailable = false
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          const text = translatedText(r.value?.translations?.[0])
          if (text) next[missing[i]!] = text
        } else if ((r.reason as { unavailable?: boolean })?.unavailable) unavailable = true
      })
      writeCache(target, next)
      setCatalog(next)
      if (unavailable) setAvailable(false)
      setStatus(unavailable ? 'unavailable' : results.some((r) => r.status === 'rejected') ? 'error' : 'idle')
    },
    [client, campaign],
  )

  useEffect(() => {
    document.documentElement.lang = lang
  }, [lang])

  const setLang = useCallback(
    (code: string) => {
      setLangState(code)
      void load(code)
    },
    [load],
  )

  const t = useCallback((key: StringKey) => catalog[key] ?? STRINGS[key], [catalog])
  return (
    <I18nContext.Provider value={{ lang, status, available, languages: LANGUAGES, t, setLang }}>
      {props.children}
    </I18nContext.Provider>
  )
}
