import { type ComponentChildren, createContext } from 'preact'
import { useCallback, useContext, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { OvasabiClient } from '../../../client/index.js'
import { ensureSession } from '../shared/session.js'
import { LANGUAGES, PLURALS, type PluralKey, STRINGS, type StringKey, type TextKey } from './strings.js'

type Catalog = Partial<Record<StringKey, string>>

/** Values for a string's `{name}` placeholders. */
export type Params = Record<string, string | number>

/**
 * Fills `{name}` placeholders (the translation service hands them back unchanged); one without a
 * value stays as written.
 */
export function fill(text: string, params?: Params): string {
  if (!params) return text
  return text.replace(/\{\s*([A-Za-z0-9_]+)\s*\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  )
}

/**
 * `unavailable`: the server has no translation provider (only strings cached earlier or found in
 * the campaign's catalog are translated), or refuses this campaign's strings (a draft, an unknown
 * slug); `partial`: some strings could not be translated (shown in English).
 */
export type I18nStatus = 'idle' | 'loading' | 'unavailable' | 'partial'

interface I18n {
  /** The language the visitor chose. */
  lang: string
  /** The language the page is actually shown in (`<html lang>`). */
  shown: string
  status: I18nStatus
  languages: typeof LANGUAGES
  /**
   * The string in the shown language, its `{name}` placeholders filled from `params`; a counted
   * one (`PLURALS`) in the plural form its count takes in the language the sentence is shown in.
   */
  t: (key: TextKey, params?: Params) => string
  /**
   * Shows the page in `code`; `remember` (the default: the visitor chose it) keeps it for their
   * next visits and in the address's `?lang=`, if it has one.
   */
  setLang: (code: string, remember?: boolean) => void
}

const I18nContext = createContext<I18n>({
  lang: 'en',
  shown: 'en',
  status: 'idle',
  languages: LANGUAGES,
  t: (key, params) => fill(STRINGS[pluralKey(key, params, {}, 'en')], params),
  setLang: () => {},
})

const pluralRules = new Map<string, Intl.PluralRules>()

/** The plural category of `n` in `lang` (`other` when this browser cannot tell). */
function category(lang: string, n: number): string {
  let rules = pluralRules.get(lang)
  if (!rules) {
    try {
      rules = new Intl.PluralRules(lang)
    } catch {
      return 'other'
    }
    pluralRules.set(lang, rules)
  }
  return rules.select(n)
}

/**
 * The string a key reads: itself, or for a counted sentence the form its count takes. The rules
 * are those of the language the sentence is shown in: `shown` when it is translated, else English.
 */
function pluralKey(key: TextKey, params: Params | undefined, catalog: Catalog, shown: string): StringKey {
  if (!(key in PLURALS)) return key as StringKey
  const base = key as PluralKey
  const other = `${base}.other` as StringKey
  const lang = catalog[other] !== undefined ? shown : 'en'
  const count = Number(params?.[PLURALS[base]])
  const form = `${base}.${Number.isFinite(count) ? category(lang, count) : 'other'}`
  return form in STRINGS ? (form as StringKey) : other
}

export const useI18n = () => useContext(I18nContext)

const cacheKey = (lang: string) => `ovasabi.i18n.${lang}`

/** The visitor's language, for every campaign page of the origin (as their translations are). */
const LANG_KEY = 'ovasabi.lang'
const offered = (code: string | null | undefined): code is string =>
  !!code && LANGUAGES.some((l) => l.code === code)

/**
 * The language the page opens in: a link's `?lang=` (one the page offers), else the one the
 * visitor chose last on this origin, else English (the page then tries the browser's, see App).
 */
function initialLang(): string {
  const linked = new URLSearchParams(location.search).get('lang')?.toLowerCase()
  if (offered(linked)) return linked
  try {
    const chosen = localStorage.getItem(LANG_KEY)
    if (offered(chosen)) return chosen
  } catch {
    // storage blocked: English, as before any choice
  }
  return 'en'
}

/**
 * A choice kept: in storage for the next visit, and in the address when it names a language, so a
 * reload or a copied link does not bring the link's language back over the visitor's choice.
 */
function rememberLang(code: string): void {
  try {
    localStorage.setItem(LANG_KEY, code)
  } catch {
    // storage full or blocked: the choice lasts as long as the page
  }
  const url = new URL(location.href)
  if (url.searchParams.has('lang') && url.searchParams.get('lang') !== code) {
    url.searchParams.set('lang', code)
    history.replaceState(history.state, '', url)
  }
}

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

const baseLang = (code: string) => code.toLowerCase().split(/[-_]/)[0] ?? code

/**
 * The page's strings that the campaign's own catalog has in `lang`, matched as the server matches
 * them: by key (the page's string keys), or by the English text.
 */
function fromCatalog(entries: Record<string, Record<string, string>>, lang: string): Catalog {
  const byLocale = (locales: Record<string, string>) =>
    new Map(Object.entries(locales).map(([l, text]) => [baseLang(l), text]))
  const byEnglish = new Map<string, Map<string, string>>()
  for (const locales of Object.values(entries)) {
    const map = byLocale(locales)
    const en = map.get('en')
    if (en !== undefined) byEnglish.set(en, map)
  }
  const out: Catalog = {}
  for (const key of Object.keys(STRINGS) as StringKey[]) {
    const locales = entries[key] ? byLocale(entries[key]) : byEnglish.get(STRINGS[key])
    const text = locales?.get(baseLang(lang))
    if (text) out[key] = text
  }
  return out
}

/** Answers that refuse every string of the campaign (a draft, an unknown slug): asking more is no use. */
const REFUSALS = ['CAMPAIGN_NOT_ACTIVE', 'CAMPAIGN_NOT_FOUND']

/** How long a "translation unavailable" answer is believed before the page asks again. */
const UNAVAILABLE_FOR_MS = 10 * 60_000
const UNAVAILABLE_KEY = 'ovasabi.i18n.unavailable'
/**
 * Where it is remembered: the server's "no translation provider" (503 `TRANSLATION_UNAVAILABLE`)
 * holds for every campaign on the origin; a campaign whose translation feature is off (403
 * `FEATURE_DISABLED`) says nothing of the others, whose pages still translate.
 */
const unavailableKey = (campaign?: string) =>
  campaign === undefined ? UNAVAILABLE_KEY : `${UNAVAILABLE_KEY}.${campaign}`

/**
 * When the server last said translation is unavailable for `campaign` (ms since the epoch), if
 * that is recent: for every campaign, or for this one. Not per language: neither answer depends on
 * it, so every language would get it.
 */
function unavailableSince(campaign: string, now = Date.now()): number | undefined {
  try {
    for (const key of [unavailableKey(), unavailableKey(campaign)]) {
      const at = Number(localStorage.getItem(key))
      if (at > 0 && now - at < UNAVAILABLE_FOR_MS) return at
    }
    return undefined
  } catch {
    return undefined
  }
}

/** `campaign`: the refusal was that campaign's own; undefined: the server's, for every campaign. */
function rememberUnavailable(campaign?: string): void {
  try {
    localStorage.setItem(unavailableKey(campaign), String(Date.now()))
  } catch {
    // storage blocked: the next switch asks once more, which costs one request
  }
}

/**
 * Translates the page's strings through `/api/translate`, one request per string so each carries
 * its own context key for the campaign catalog (the server batches concurrent requests upstream
 * and caches each text once per language pair),
 * and keeps the results in localStorage.
 *
 * One string is asked first: when the server has no provider (`TRANSLATION_UNAVAILABLE`) the rest
 * are never sent one by one; the campaign's catalog is read once instead (an operator's own
 * translations need no provider), the answer is remembered for a while (re-selecting does not ask
 * again at once), and `<html lang>` stays the language most of the page is actually shown in. A
 * campaign whose translation feature is off (403 `FEATURE_DISABLED`) is handled alike, but
 * remembered for that campaign only: other campaigns' pages on the origin still translate.
 * A campaign that refuses translation (a draft: 409 `CAMPAIGN_NOT_ACTIVE`; an unknown slug: 404
 * `CAMPAIGN_NOT_FOUND`) is likewise asked one string, and then not again for that language while
 * the page is open.
 */
export function I18nProvider(props: {
  client: OvasabiClient
  campaign: string
  children: ComponentChildren
}) {
  const { client, campaign } = props
  /** The language the visitor chose (the switcher's value, and the locale forms send). */
  const [lang, setLangState] = useState(initialLang)
  /** The language most of the page is shown in: what `<html lang>` says. */
  const [shown, setShown] = useState('en')
  const [catalog, setCatalog] = useState<Catalog>({})
  const [status, setStatus] = useState<I18nStatus>('idle')
  /** Bumped per switch, so a slower answer for an earlier choice does not overwrite a later one. */
  const generation = useRef(0)
  /** `campaign`/language pairs the server refused to translate: not asked again on this page. */
  const refusals = useRef(new Set<string>()).current

  const load = useCallback(
    async (target: string) => {
      const gen = ++generation.current
      const current = () => gen === generation.current
      if (target === 'en') {
        setCatalog({})
        setShown('en')
        setStatus('idle')
        return
      }
      const cached = readCache(target)
      const missing = (Object.keys(STRINGS) as StringKey[]).filter((k) => !(k in cached))
      const some = Object.keys(cached).length > 0
      setCatalog(cached)
      if (missing.length === 0) {
        setShown(target)
        return setStatus('idle')
      }
      setStatus('loading')
      // `/api/translate` wants a session: a switch in the page's first moment waits for the one
      // the page is starting rather than being refused without it.
      const session = await ensureSession(client).then(
        () => true,
        () => false,
      )
      if (!current()) return
      const pair = `${campaign}\n${target}`
      if (!session || refusals.has(pair)) {
        setShown(some ? target : 'en')
        return setStatus(session ? 'unavailable' : 'partial')
      }
      const ask = (key: StringKey) =>
        client.translation.translate({
          q: STRINGS[key],
          source: 'en',
          target,
          format: 'text',
          campaign_id: campaign,
          context: { page: campaign, key, locale: target, description: 'Marketing launch page UI text' },
        })
      const next: Catalog = { ...cached }
      // Said recently: no string is sent, only the catalog read.
      let unavailable = unavailableSince(campaign) !== undefined
      /** Set when the refusal was the campaign's own (its translation feature off). */
      let campaignOff = false
      let failed = false
      let refused = false
      const take = (key: StringKey, r: PromiseSettledResult<Awaited<ReturnType<typeof ask>>>) => {
        if (r.status === 'fulfilled') {
          const text = translatedText(r.value?.translations?.[0])
          if (text) next[key] = text
          else failed = true
        } else if ((r.reason as { unavailable?: boolean })?.unavailable) {
          unavailable = true
          if ((r.reason as { code?: string }).code === 'FEATURE_DISABLED') campaignOff = true
        } else if (REFUSALS.includes((r.reason as { code?: string })?.code ?? '')) refused = true
        else failed = true
      }
      if (!unavailable) {
        // The first string alone: without a provider, or when the campaign refuses, there is no
        // point sending the others.
        const [first, ...rest] = missing as [StringKey, ...StringKey[]]
        const [probe] = await Promise.allSettled([ask(first)])
        take(first, probe!)
        if (unavailable) rememberUnavailable(campaignOff ? campaign : undefined)
        else if (refused) refusals.add(pair)
        else {
          const results = await Promise.allSettled(rest.map(ask))
          for (const [i, r] of results.entries()) take(rest[i]!, r)
        }
      }
      if (unavailable) {
        const entries = await client.translation.catalog(campaign).then(
          (c) => c.entries,
          () => ({}),
        )
        for (const [key, text] of Object.entries(fromCatalog(entries, target)))
          next[key as StringKey] ??= text
      }
      const complete = (Object.keys(STRINGS) as StringKey[]).every((k) => k in next)
      if (!current()) return
      writeCache(target, next)
      setCatalog(next)
      const translated = Object.keys(next).length > 0
      setShown(translated ? target : 'en')
      setStatus(complete ? 'idle' : unavailable || refused ? 'unavailable' : failed ? 'partial' : 'idle')
    },
    [client, campaign, refusals],
  )

  // In the same commit as the text it describes (a layout effect, not one after paint): the page
  // never shows Spanish text under lang="en", to screen readers or to anything reading the DOM.
  useLayoutEffect(() => {
    document.documentElement.lang = shown
  }, [shown])

  const setLang = useCallback(
    (code: string, remember = true) => {
      setLangState(code)
      if (remember) rememberLang(code)
      void load(code)
    },
    [load],
  )

  // The language the page opened in (a link's, or the one chosen on an earlier visit) is loaded
  // once, as a choice is: its cached translations at once, the rest asked for.
  const opening = useRef<string | undefined>(lang)
  useEffect(() => {
    const first = opening.current
    opening.current = undefined
    if (first && first !== 'en') void load(first)
  }, [load])

  const t = useCallback(
    (key: TextKey, params?: Params) => {
      const k = pluralKey(key, params, catalog, shown)
      return fill(catalog[k] ?? STRINGS[k], params)
    },
    [catalog, shown],
  )
  return (
    <I18nContext.Provider value={{ lang, shown, status, languages: LANGUAGES, t, setLang }}>
      {props.children}
    </I18nContext.Provider>
  )
}
