import { Type, type Static } from 'typebox'

/** BCP 47-ish language code as LibreTranslate uses them (`en`, `pt-BR`, `zh-Hans`). */
export const LangCode = Type.String({ pattern: '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$', maxLength: 32 })
export const MAX_STRINGS = 100
export const MAX_TARGETS = 10
export const MAX_CHARS = 5000
/**
 * Characters one request may send upstream, over all its strings and targets (each string goes
 * once per target): a page's worth. 100 strings × 5,000 × 10 targets would be 5 million, enough
 * for one request to time out the upstream and open its breaker for everyone.
 */
export const MAX_REQUEST_CHARS = 50_000
/**
 * Strings one request may send upstream, counting each once per target: what 100 strings in 10
 * languages are. A plural or select message goes once per option, so its options count too.
 */
export const MAX_REQUEST_STRINGS = MAX_STRINGS * MAX_TARGETS

/**
 * Where the strings are shown. LibreTranslate takes no context, so none of it changes what goes
 * upstream or splits the cache: `key` picks the campaign catalog's entry, `locale` is the reader's
 * locale (the target when `target` is absent), `page` and `description` are for the caller's logs.
 */
export const TranslateContext = Type.Object(
  {
    page: Type.Optional(Type.String({ maxLength: 200 })),
    /** The catalog key the string is (a single `q` only). */
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** The reader's locale: translated into when `target` is absent. */
    locale: Type.Optional(LangCode),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
)
export type TranslateContext = Static<typeof TranslateContext>

const translateFields = {
  q: Type.Union([
    Type.String({ maxLength: MAX_CHARS }),
    Type.Array(Type.String({ maxLength: MAX_CHARS }), { minItems: 1, maxItems: MAX_STRINGS }),
  ]),
  source: Type.Optional(Type.Union([Type.Literal('auto'), LangCode], { default: 'auto' })),
  /** Required unless `context.locale` names the reader's locale. */
  target: Type.Optional(
    Type.Union([LangCode, Type.Array(LangCode, { minItems: 1, maxItems: MAX_TARGETS, uniqueItems: true })]),
  ),
  format: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('html')])),
  context: Type.Optional(TranslateContext),
}

/** The `localization.translate` action payload (the campaign is the path's). */
export const TranslatePayload = Type.Object(
  {
    ...translateFields,
    campaign_id: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' })),
  },
  { additionalProperties: false },
)
export type TranslateInput = Static<typeof TranslatePayload>

/** `POST /api/translate`: the same input; `campaign_id` selects the campaign's catalog. */
export const TranslateBody = TranslatePayload

export const Provider = Type.Union([
  Type.Literal('identity'),
  Type.Literal('catalog'),
  Type.Literal('cache'),
  Type.Literal('libretranslate'),
])
export type Provider = Static<typeof Provider>

export const Translation = Type.Object({
  /** Position of the string in `q`. */
  index: Type.Integer(),
  /** The tags as the request named them (`FR` stays `FR`; it is translated as `fr`). */
  source: Type.String(),
  target: Type.String(),
  text: Type.String(),
  provider: Provider,
  detected_source: Type.Optional(Type.String()),
})
export type Translation = Static<typeof Translation>

export const TranslateResult = Type.Object({
  /** Ordered by `index`, then by the order of `target`. */
  translations: Type.Array(Translation),
})
export type TranslateResult = Static<typeof TranslateResult>

export const LanguagesResponse = Type.Object({
  /** State of the machine-translation upstream when the list was made. */
  upstream: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('disabled')]),
  languages: Type.Array(
    Type.Object({ code: Type.String(), name: Type.String(), targets: Type.Array(Type.String()) }),
  ),
  catalog_locales: Type.Array(Type.String()),
})

const CatalogKey = Type.String({ pattern: '^[A-Za-z0-9_.:/-]{1,200}$' })

/** key → locale → text. */
export const Catalog = Type.Record(CatalogKey, Type.Record(LangCode, Type.String({ maxLength: 10_000 })), {
  maxProperties: 5000,
})
export type Catalog = Record<string, Record<string, string>>

export const CatalogResponse = Type.Object({
  campaign: Type.String(),
  keys: Type.Integer(),
  locales: Type.Array(Type.String()),
  entries: Catalog,
})
