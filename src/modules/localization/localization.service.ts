import { createHash } from 'node:crypto'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Config } from '../../config.js'
import type { Db } from '../../platform/db/database.js'
import {
  retryLaterError,
  ServiceUnavailableError,
  UnprocessableError,
  ValidationError,
} from '../../platform/http/errors.js'
import type { HealthCheck } from '../../platform/observability/health.js'
import { within } from '../../platform/within.js'
import { type Batcher, createBatcher } from './batcher.js'
import { type CircuitBreaker, createBreaker } from './breaker.js'
import { sweepTranslationCache, USED_AT_PRECISION_MS } from './cache-sweep.js'
import { hoist, restorePlaceholders, samePlaceholders, skeleton } from './icu.js'
import {
  createLibreTranslateClient,
  type LibreTranslateClient,
  type UpstreamLanguage,
  UpstreamRejectedError,
  UpstreamUnavailableError,
} from './libretranslate.client.js'
import { canonicalLocale, pickLocale } from './locale.js'
import * as repo from './localization.repo.js'
import type {
  Catalog,
  TranslateContext,
  TranslateInput,
  TranslateResult,
  Translation,
} from './localization.schema.js'
import { MAX_REQUEST_CHARS, MAX_REQUEST_STRINGS } from './localization.schema.js'

export interface LocalizationService {
  /** The provider chain: identity → campaign catalog → cache → LibreTranslate (batched). */
  translate(input: TranslateInput, campaignSlug?: string): Promise<TranslateResult>
  languages(campaignSlug?: string): Promise<{
    upstream: 'up' | 'down' | 'disabled'
    languages: UpstreamLanguage[]
    catalog_locales: string[]
  }>
  putCatalog(slug: string, catalog: Catalog): Promise<Catalog>
  getCatalog(slug: string): Promise<Catalog>
  /** For `/health`: disabled without `LIBRETRANSLATE_URL`, down while the circuit is open. */
  health: HealthCheck
  /**
   * Removes cache rows unused for `TRANSLATION_CACHE_RETENTION_DAYS` (a bounded number per call);
   * how many went. Run periodically by the module's routes plugin.
   */
  sweepCache(): Promise<number>
}

type LocalizationConfig = Pick<
  Config,
  | 'LIBRETRANSLATE_URL'
  | 'LIBRETRANSLATE_API_KEY'
  | 'LIBRETRANSLATE_TIMEOUT_MS'
  | 'LIBRETRANSLATE_RETRIES'
  | 'LIBRETRANSLATE_BATCH_WINDOW_MS'
  | 'LIBRETRANSLATE_BATCH_LIMIT'
  | 'LIBRETRANSLATE_MAX_CONCURRENCY'
  | 'LIBRETRANSLATE_BREAKER_THRESHOLD'
  | 'LIBRETRANSLATE_BREAKER_COOLDOWN_MS'
  | 'TRANSLATION_CACHE_RETENTION_DAYS'
>

const LANGUAGES_TTL_MS = 5 * 60_000
/** After the language list could not be fetched, tags go upstream as written for this long. */
const LANGUAGES_RETRY_MS = 30_000
const HEALTH_TTL_MS = 5_000
/**
 * How long a health probe waits for LibreTranslate, as for Redis's PING: a check of a slow
 * upstream (retries, timeouts, a queue behind translations) goes on in the background, one at a
 * time, and the probe meanwhile reads translation as down (never critical: the node stays ready).
 */
const HEALTH_ANSWER_MS = 250
const BREAKER_STATES = { closed: 0, half_open: 1, open: 2 } as const

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * The cache's context column, always empty: LibreTranslate takes no context, so the same text,
 * languages and format get the same translation on every page. (Rows written when the context
 * split the cache are still read: lookups ignore the column.)
 */
const CACHE_CONTEXT = ''

/**
 * How one string goes upstream: the texts sent, and how their translations become the answer
 * (undefined when the translation broke the message's ICU arguments beyond repair, or is empty).
 *
 * The whitespace around the string stays here: LibreTranslate strips each string and answers
 * without it, and a page's text nodes ("Click ", " here") need theirs to keep their words apart.
 * `q` is in NFC (see `translate`).
 */
function upstreamPlan(q: string): { units: string[]; assemble(t: string[]): string | undefined } {
  // By trim, not a regular expression: a lazy `^(\s*)(.*?)(\s*)$` backtracks quadratically
  // over a long inner run of spaces.
  const core = q.trim()
  const start = q.length - q.trimStart().length
  const lead = q.slice(0, start)
  const trail = q.slice(start + core.length)
  const inner = hoist(core) ?? plainPlan(core)
  return {
    units: inner.units,
    assemble(translated) {
      // An empty answer for a non-empty string is no translation: cached, it would blank the
      // string on every page for the whole retention (a hit keeps the row alive).
      if (translated.some((t, i) => t.trim() === '' && inner.units[i]?.trim() !== '')) return undefined
      const fixed = inner.assemble(translated.map((t) => t.trim()))
      return fixed === undefined ? undefined : `${lead}${fixed}${trail}`
    },
  }
}

function plainPlan(q: string): { units: string[]; assemble(t: string[]): string | undefined } {
  const shape = skeleton(q)
  return {
    units: [q],
    assemble([t]) {
      const fixed = restorePlaceholders(q, t as string)
      if (!samePlaceholders(q, fixed)) return undefined
      if (shape !== undefined && skeleton(fixed) !== shape) return undefined
      return fixed
    },
  }
}

/**
 * The code a tag goes upstream as while the upstream's language list is unknown: its language
 * alone (`pt-BR` → `pt`, `en-US` → `en`, `zh-Hans-CN` → `zh`), else its language in its script when
 * the language alone is another script (`zh-TW` → `zh-Hant`, `sr-Latn-RS` → `sr-Latn`), else the
 * tag as written. Every LibreTranslate lists its languages by the bare code; regional codes
 * (`pt-BR`) are few and recent, and an instance without one refuses it (400 "… is not supported").
 * So for the 30 s after the list could not be fetched (typically after an outage), a `pt-BR`
 * reader gets Portuguese rather than a refusal, cached under `pt` (never as `pt-BR`), and the
 * upstream gets no refused calls to retry; with the list back, `pt-BR` goes as the list names it.
 */
function baseCode(canonical: string): string {
  const language = canonical.split('-')[0] as string
  if (pickLocale(canonical, [language]) === language) return language
  let script: string | undefined
  try {
    script = new Intl.Locale(canonical).maximize().script
  } catch {
    // Not a tag Intl knows: as written.
  }
  const scripted = script ? `${language}-${script}` : undefined
  return scripted && pickLocale(canonical, [scripted]) === scripted ? scripted : canonical
}

export function createLocalizationService(deps: {
  db: Db
  config: LocalizationConfig
  registry: Registry
}): LocalizationService {
  const { db, config } = deps
  const provided = new Counter({
    name: 'ovasabi_translation_strings_total',
    help: 'Translated strings by the provider that answered',
    labelNames: ['provider'],
    registers: [deps.registry],
  })
  const upstreamStrings = new Counter({
    name: 'ovasabi_translation_upstream_strings_total',
    help: 'Strings sent to LibreTranslate (after batching and single flight)',
    registers: [deps.registry],
  })
  const upstreamAttempts = new Counter({
    name: 'ovasabi_translation_upstream_requests_total',
    help: 'HTTP calls to LibreTranslate by outcome (ok, status code, timeout, network)',
    labelNames: ['outcome'],
    registers: [deps.registry],
  })
  const breakerGauge = new Gauge({
    name: 'ovasabi_translation_breaker_state',
    help: 'LibreTranslate circuit: 0 closed, 1 half-open, 2 open',
    registers: [deps.registry],
  })

  let breaker: CircuitBreaker | undefined
  let client: LibreTranslateClient | undefined
  let batcher: Batcher | undefined
  if (config.LIBRETRANSLATE_URL) {
    breaker = createBreaker({
      threshold: config.LIBRETRANSLATE_BREAKER_THRESHOLD,
      cooldownMs: config.LIBRETRANSLATE_BREAKER_COOLDOWN_MS,
      onChange: (s) => breakerGauge.set(BREAKER_STATES[s]),
    })
    client = createLibreTranslateClient({
      url: config.LIBRETRANSLATE_URL,
      apiKey: config.LIBRETRANSLATE_API_KEY,
      timeoutMs: config.LIBRETRANSLATE_TIMEOUT_MS,
      retries: config.LIBRETRANSLATE_RETRIES,
      maxConcurrent: config.LIBRETRANSLATE_MAX_CONCURRENCY,
      breaker,
      onAttempt: (outcome) => upstreamAttempts.inc({ outcome }),
    })
    batcher = createBatcher({
      client,
      windowMs: config.LIBRETRANSLATE_BATCH_WINDOW_MS,
      limit: config.LIBRETRANSLATE_BATCH_LIMIT,
      onUpstream: (n) => upstreamStrings.inc(n),
    })
  }

  let languagesCache: { at: number; list: UpstreamLanguage[] } | undefined
  /** The one fetch of the list under way: a burst of requests after it expired asks once. */
  let languagesFetch: Promise<UpstreamLanguage[]> | undefined
  async function upstreamLanguages(): Promise<UpstreamLanguage[]> {
    if (!client) throw new Error('LIBRETRANSLATE_URL is not set')
    if (languagesCache && Date.now() - languagesCache.at < LANGUAGES_TTL_MS) return languagesCache.list
    languagesFetch ??= client
      .languages()
      .then((list) => {
        languagesCache = { at: Date.now(), list }
        return list
      })
      .finally(() => {
        languagesFetch = undefined
      })
    return languagesFetch
  }

  let languagesFailedAt = 0
  /**
   * The upstream's code for a caller's tag: `FR` and `fr_fr` are LibreTranslate's `fr`, `pt_br`
   * its `pt-BR` when it has one. A bare language needs no list; a tag the upstream does not know
   * goes as written (canonical case), for the upstream to refuse by name. While the list cannot be
   * had, a tag goes as its base language in its script (`baseCode`).
   */
  async function upstreamCode(tag: string): Promise<string> {
    const canonical = canonicalLocale(tag)
    if (tag === 'auto' || !client || /^[a-z]{2,3}$/.test(canonical)) return canonical
    if (Date.now() - languagesFailedAt < LANGUAGES_RETRY_MS) return baseCode(canonical)
    try {
      // Its own codes first; a language may be listed only as another's target (as in
      // `unknownCodes`), and `zh-Hant` must find a list's `zh-TW` there too.
      const list = await upstreamLanguages()
      return (
        pickLocale(canonical, [...list.map((l) => l.code), ...list.flatMap((l) => l.targets)]) ?? canonical
      )
    } catch {
      languagesFailedAt = Date.now()
      return baseCode(canonical)
    }
  }

  type HealthResult = Awaited<ReturnType<HealthCheck>>
  /**
   * The codes among `codes` the upstream's language list lacks ([] when the list cannot be had:
   * the upstream then judges). Checked before anything is sent: LibreTranslate refuses a batch for
   * its language, and a refused batch goes again one string at a time, so one request for an
   * unknown locale would otherwise cost the upstream a call per string.
   */
  async function unknownCodes(codes: string[]): Promise<string[]> {
    if (codes.length === 0 || Date.now() - languagesFailedAt < LANGUAGES_RETRY_MS) return []
    let known: Set<string>
    try {
      // A language may be listed only as another's target (a model installed one way).
      const list = await upstreamLanguages()
      known = new Set(list.flatMap((l) => [l.code, ...l.targets]).map((code) => code.toLowerCase()))
    } catch {
      languagesFailedAt = Date.now()
      return []
    }
    return [...new Set(codes)].filter((code) => code !== 'auto' && !known.has(code.toLowerCase()))
  }

  let healthCache: { at: number; result: HealthResult } | undefined
  /** The one upstream check under way, shared by every probe that arrives meanwhile. */
  let healthCheck: Promise<HealthResult> | undefined
  async function checkUpstream(upstream: LibreTranslateClient): Promise<HealthResult> {
    let result: HealthResult
    try {
      // Straight to the upstream (not the languages cache), so the answer is current; as a probe,
      // which the breaker neither refuses nor counts (see `languages`): `/health` polled every few
      // seconds opened the circuit for translations while `/languages` failed, or closed it (taking
      // its half-open trial) while `/translate` still did.
      const list = await upstream.languages({ probe: true })
      result = { status: 'up', details: `${list.length} languages` }
    } catch (err) {
      result = { status: 'down', details: (err as Error).message }
    }
    healthCache = { at: Date.now(), result }
    return result
  }

  async function fromCatalog(
    slug: string,
    qs: string[],
    source: string,
    targets: string[],
    context: TranslateContext | undefined,
    put: (qi: number, ti: number, text: string, provider: 'catalog') => void,
  ) {
    const key = qs.length === 1 ? context?.key : undefined
    // The source locale is matched here, not in SQL: `EN`, `en_US` and `en` are one language.
    // Either normal form, as the editor typed it or the page holds it; compared below in NFC.
    const texts = [...new Set(qs.flatMap((q) => [q, q.normalize('NFC'), q.normalize('NFD')]))]
    const rows = await repo.catalogMatches(db, slug, { key, texts })
    if (rows.length === 0) return
    const byKey = new Map<string, Map<string, string>>()
    for (const r of rows) {
      let locales = byKey.get(r.key)
      if (!locales) {
        locales = new Map()
        byKey.set(r.key, locales)
      }
      locales.set(r.locale, r.text)
    }
    const textIn = (locales: Map<string, string>, tag: string) => {
      const locale = pickLocale(tag, locales.keys())
      return locale === undefined ? undefined : locales.get(locale)
    }
    qs.forEach((q, qi) => {
      const nfc = q.normalize('NFC')
      let locales = key ? byKey.get(key) : undefined
      if (!locales) {
        for (const candidate of byKey.values()) {
          // Any locale that alone would serve the source: with `en`, a key's `en-US` and its
          // `en-GB` (the page may be in either), with `en-US` its `en` but not its `en-GB`.
          const sourceText = [...candidate].flatMap(([locale, text]) =>
            source === 'auto' || pickLocale(source, [locale]) === locale ? [text] : [],
          )
          if (sourceText.some((text) => text.normalize('NFC') === nfc)) {
            locales = candidate
            break
          }
        }
      }
      if (!locales) return
      targets.forEach((target, ti) => {
        const text = textIn(locales, target)
        if (text !== undefined) put(qi, ti, text, 'catalog')
      })
    })
  }

  async function translate(input: TranslateInput, campaignSlug?: string): Promise<TranslateResult> {
    const qs = Array.isArray(input.q) ? input.q : [input.q]
    // The reader's locale is the target when the caller names none.
    const target = input.target ?? input.context?.locale
    if (target === undefined) {
      throw new ValidationError("`target` is required unless `context.locale` names the reader's locale", [
        { path: '/target', message: 'required' },
      ])
    }
    const targets = Array.isArray(target) ? target : [target]
    // Counted as they would go upstream: a plural or select message goes once per option, each
    // option a whole sentence with the text around it, so one 5,000-character string can be
    // hundreds of strings upstream.
    // Canonically equivalent texts (`é` precomposed or `e` + combining accent, as a page's DOM may
    // hold it) are one text: one cache entry, one upstream string, one catalog match.
    const plans = qs.map((q) => upstreamPlan(q.normalize('NFC')))
    const units = plans.flatMap((p) => p.units)
    const chars = units.reduce((n, u) => n + u.length, 0) * targets.length
    const strings = units.length * targets.length
    if (chars > MAX_REQUEST_CHARS || strings > MAX_REQUEST_STRINGS) {
      throw new UnprocessableError(
        `At most ${MAX_REQUEST_CHARS} characters and ${MAX_REQUEST_STRINGS} strings per request, counting each string once per target and a plural or select message once per option (this one: ${chars} characters, ${strings} strings); split it`,
        'TRANSLATION_TOO_LARGE',
      )
    }
    const source = input.source ?? 'auto'
    // What goes upstream and into the cache; the answer names the tags as the caller wrote them.
    const upSource = await upstreamCode(source)
    const upTargets = await Promise.all(targets.map(upstreamCode))
    const format = input.format ?? 'text'
    // Filled, not sparse: array methods skip holes.
    const slots: Array<Translation | undefined> = Array.from(
      { length: qs.length * targets.length },
      () => undefined,
    )
    const put = (
      qi: number,
      ti: number,
      text: string,
      provider: Translation['provider'],
      detected?: string | null,
    ) => {
      const t: Translation = { index: qi, source, target: targets[ti] as string, text, provider }
      if (detected) t.detected_source = detected
      slots[qi * targets.length + ti] = t
    }
    const missing = () =>
      slots.reduce<Array<[number, number]>>((acc, slot, i) => {
        if (!slot) acc.push([Math.floor(i / targets.length), i % targets.length])
        return acc
      }, [])
    // Empty strings need nobody.
    qs.forEach((q, qi) => {
      if (q.trim() !== '') return
      targets.forEach((_, ti) => {
        put(qi, ti, q, 'identity')
      })
    })

    if (campaignSlug && missing().length > 0) {
      await fromCatalog(campaignSlug, qs, source, targets, input.context, put)
    }
    // Nor do same-language pairs, once the catalog had its say: its `en-GB` or `pt-BR` entry is
    // the editors' wording for that reader, where the upstream sees one language (`en`, `pt`).
    if (source !== 'auto') {
      for (const [qi, ti] of missing()) {
        if (upSource === upTargets[ti]) put(qi, ti, qs[qi] as string, 'identity')
      }
    }

    let todo = missing()
    if (todo.length > 0) {
      const hashes = qs.map((q) => sha256(q.normalize('NFC')))
      const lookup = {
        hashes: [...new Set(todo.map(([qi]) => hashes[qi] as string))],
        source: upSource,
        targets: [...new Set(todo.map(([, ti]) => upTargets[ti] as string))],
        format,
      }
      const rows = await repo.findCached(db, lookup)
      // What answers is kept: the retention counts from a row's last use, not its writing.
      const staleBefore = new Date(Date.now() - USED_AT_PRECISION_MS)
      if (rows.some((r) => r.used_at < staleBefore)) await repo.touchCached(db, { ...lookup, staleBefore })
      const found = new Map(rows.map((r) => [`${r.text_hash}\u0000${r.target}`, r]))
      for (const [qi, ti] of todo) {
        const row = found.get(`${hashes[qi]}\u0000${upTargets[ti]}`)
        if (row) put(qi, ti, row.translated_text, 'cache', row.detected_source)
      }
      todo = missing()
      if (todo.length > 0)
        await fromUpstream(todo, qs, plans, hashes, upTargets, upSource, format, put, input)
    }

    const translations = slots as Translation[]
    for (const t of translations) provided.inc({ provider: t.provider })
    return { translations }
  }

  async function fromUpstream(
    todo: Array<[number, number]>,
    qs: string[],
    plansByString: Array<ReturnType<typeof upstreamPlan>>,
    hashes: string[],
    targets: string[],
    source: string,
    format: 'text' | 'html',
    put: (
      qi: number,
      ti: number,
      text: string,
      provider: 'libretranslate' | 'identity',
      detected?: string,
    ) => void,
    input: TranslateInput,
  ) {
    const unavailable = (reason: string, retryAfterMs?: number) => {
      if (retryAfterMs === undefined) {
        return new ServiceUnavailableError(
          'No translation provider could answer',
          'TRANSLATION_UNAVAILABLE',
          {
            fallback: input.q,
            reason,
          },
        )
      }
      // When the upstream may be asked again (its `Retry-After`, an open circuit's rest): a REST
      // header, and in the details for the action's answer on a socket.
      return retryLaterError(
        503,
        'TRANSLATION_UNAVAILABLE',
        'No translation provider could answer',
        retryAfterMs,
        {
          fallback: input.q,
          reason,
        },
      )
    }
    if (!batcher) throw unavailable('LIBRETRANSLATE_URL is not set and no catalog or cache entry matched')
    const unknown = await unknownCodes([source, ...todo.map(([, ti]) => targets[ti] as string)])
    if (unknown.length > 0) {
      throw new UnprocessableError(
        // Worded as LibreTranslate words it, so both refusals read alike.
        `LibreTranslate refused the request: ${unknown.map((code) => `${code} is not supported`).join('; ')}`,
        'TRANSLATION_REJECTED',
      )
    }
    const plans = todo.map(([qi]) => plansByString[qi])
    const settled = await Promise.allSettled(
      todo.map(([, ti], i) =>
        Promise.all(
          (plans[i] as ReturnType<typeof upstreamPlan>).units.map((unit) =>
            batcher.translate(unit, source, targets[ti] as string, format),
          ),
        ),
      ),
    )
    const rejected = settled.find(
      (s): s is PromiseRejectedResult => s.status === 'rejected' && s.reason instanceof UpstreamRejectedError,
    )
    if (rejected) {
      throw new UnprocessableError(
        `LibreTranslate refused the request: ${(rejected.reason as Error).message}`,
        'TRANSLATION_REJECTED',
      )
    }
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failed) {
      const waits = settled.flatMap((s) =>
        s.status === 'rejected' &&
        s.reason instanceof UpstreamUnavailableError &&
        s.reason.retryAfterMs !== undefined
          ? [s.reason.retryAfterMs]
          : [],
      )
      throw unavailable((failed.reason as Error).message, waits.length > 0 ? Math.max(...waits) : undefined)
    }
    const rows: repo.CacheRow[] = []
    settled.forEach((s, i) => {
      const [qi, ti] = todo[i] as [number, number]
      const parts = (s as PromiseFulfilledResult<Array<{ text: string; detected?: string }>>).value
      const detected = parts[0]?.detected
      const q = qs[qi] as string
      const fixed = (plans[i] as ReturnType<typeof upstreamPlan>).assemble(parts.map((p) => p.text))
      if (fixed === undefined) {
        // The engine broke the message's ICU arguments: a message that throws when formatted is
        // worse than one in the source language. Answered as the source, never cached.
        put(qi, ti, q, 'identity')
        return
      }
      put(qi, ti, fixed, 'libretranslate', detected)
      rows.push({
        text_hash: hashes[qi] as string,
        source,
        target: targets[ti] as string,
        format,
        context: CACHE_CONTEXT,
        source_text: q.normalize('NFC'),
        translated_text: fixed,
        provider: 'libretranslate',
        detected_source: detected ?? null,
      })
    })
    const unique = new Map(rows.map((r) => [`${r.text_hash}\u0000${r.target}`, r]))
    await repo.insertCached(db, [...unique.values()])
  }

  return {
    translate,
    async languages(campaignSlug) {
      const catalog_locales = campaignSlug ? await repo.catalogLocales(db, campaignSlug) : []
      if (!client) return { upstream: 'disabled', languages: [], catalog_locales }
      try {
        return { upstream: 'up', languages: await upstreamLanguages(), catalog_locales }
      } catch {
        return { upstream: 'down', languages: [], catalog_locales }
      }
    },
    async putCatalog(slug, input) {
      const problems: Array<{ key: string; locale: string; message: string }> = []
      const duplicates: typeof problems = []
      // Locales are stored as BCP 47 (`FR` → `fr`, `pt_br` → `pt-BR`), so one locale is one row.
      const catalog: Catalog = {}
      for (const [key, locales] of Object.entries(input)) {
        const byLocale: Record<string, string> = {}
        for (const [locale, text] of Object.entries(locales)) {
          const canonical = canonicalLocale(locale)
          if (Object.hasOwn(byLocale, canonical)) {
            duplicates.push({ key, locale, message: `${locale} is ${canonical}, which this key already has` })
          }
          byLocale[canonical] = text
        }
        catalog[key] = byLocale
        const entries = Object.entries(byLocale)
        const [firstLocale, firstText] = entries[0] ?? []
        for (const [locale, text] of entries.slice(1)) {
          if (!samePlaceholders(firstText as string, text)) {
            problems.push({
              key,
              locale,
              message: `placeholders differ from ${firstLocale}: every locale must use the same {arguments}`,
            })
          }
        }
      }
      if (duplicates.length > 0) {
        throw new UnprocessableError(
          'A key names one locale twice (locale tags are case-insensitive, `_` is `-`)',
          'DUPLICATE_LOCALE',
          duplicates.slice(0, 50),
        )
      }
      if (problems.length > 0) {
        throw new UnprocessableError(
          'Catalog placeholders do not match',
          'PLACEHOLDER_MISMATCH',
          problems.slice(0, 50),
        )
      }
      await repo.replaceCatalog(db, slug, catalog)
      return repo.readCatalog(db, slug)
    },
    getCatalog: (slug) => repo.readCatalog(db, slug),
    sweepCache: () => sweepTranslationCache(db, config.TRANSLATION_CACHE_RETENTION_DAYS),
    async health() {
      if (!client || !breaker) return { status: 'disabled', details: 'LIBRETRANSLATE_URL not set' }
      if (breaker.state() === 'open')
        return { status: 'down', details: 'circuit open after repeated failures' }
      if (healthCache && Date.now() - healthCache.at < HEALTH_TTL_MS) return healthCache.result
      healthCheck ??= checkUpstream(client).finally(() => {
        healthCheck = undefined
      })
      const answered = await within(healthCheck, HEALTH_ANSWER_MS)
      return (
        answered ?? {
          status: 'down',
          details: `LibreTranslate gave no answer within ${HEALTH_ANSWER_MS} ms (a check is running)`,
        }
      )
    },
  }
}
