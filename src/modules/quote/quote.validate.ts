import { Compile } from 'typebox/compile'
import { ValidationError } from '../../platform/http/errors.js'
import { isBlank } from '../../platform/text.js'
import { leadEmail } from './lead-email.js'
import {
  EMAIL_NOT_ASCII_HINT,
  FIELD_HINTS,
  METADATA_MAX_BYTES,
  NAME_NOT_VISIBLE_HINT,
  QuoteFields,
} from './quote.schema.js'

const validator = Compile(QuoteFields)

export interface FieldError {
  field: string
  path: string
  message: string
}

/**
 * A phone as typed in its ASCII form: fullwidth digits and signs (a Japanese or Chinese input
 * method's `０３－１２３４`) and pasted no-break spaces folded (NFKC), Unicode dashes and the minus
 * sign (an en dash from a word processor) made `-`.
 */
function plainPhone(typed: string): string {
  return typed
    .normalize('NFKC')
    .replace(/[\u2010-\u2015\u2212\uFE58\uFE63]/g, '-')
    .trim()
}

/**
 * A language tag in its canonical form (`EN-us` → `en-US`, `pt_br` → `pt-BR`, `iw` → `he`), so
 * one language is one value to filter, group and route by; undefined when it is no valid BCP 47
 * tag (`en-US-US`, a repeated variant), which the schema's pattern alone lets through.
 */
export function canonicalLocale(typed: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(typed.replaceAll('_', '-'))[0]
  } catch {
    return undefined
  }
}

/**
 * Strings trimmed and in NFC (an "é" typed as e + U+0301 is the precomposed "é" people search
 * for), the phone in ASCII (`plainPhone`), the email put in its stored form (`leadEmail`), and
 * the locale canonical (`canonicalLocale`) before validation, so " Ada@X.io " and `ada@ｘ.io` are
 * one person, and an internationalised domain is checked as the ASCII the form takes.
 */
function normalise(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(raw)) out[k] = typeof v === 'string' ? v.trim().normalize('NFC') : v
  if (typeof out.email === 'string') out.email = leadEmail(out.email)
  if (typeof out.phone === 'string') out.phone = plainPhone(out.phone)
  if (typeof out.locale === 'string') out.locale = canonicalLocale(out.locale) ?? out.locale
  for (const key of ['company', 'phone', 'message', 'interest', 'locale', 'budget']) {
    if (out[key] === '') delete out[key]
  }
  return out
}

/** True when the form's metadata object is larger, as JSON, than `METADATA_MAX_BYTES`. */
function metadataTooLarge(input: unknown): boolean {
  const metadata = (input as { metadata?: unknown }).metadata
  if (typeof metadata !== 'object' || metadata === null) return false
  return Buffer.byteLength(JSON.stringify(metadata)) > METADATA_MAX_BYTES
}

/** True when the email, once normalised, still has a character outside ASCII before its @. */
function localPartNotAscii(input: object): boolean {
  const email = (input as { email?: unknown }).email
  if (typeof email !== 'string' || !email.includes('@')) return false
  return /[^\x00-\x7F]/.test(email.slice(0, email.lastIndexOf('@')))
}

/** True when the form's locale, once normalised, is no language tag (see `canonicalLocale`). */
function localeInvalid(input: object): boolean {
  const locale = (input as { locale?: unknown }).locale
  return typeof locale === 'string' && canonicalLocale(locale) === undefined
}

/** True when the name is text that shows nothing (`\u200B`, a Hangul filler: see `isBlank`). */
function nameShowsNothing(input: object): boolean {
  const name = (input as { name?: unknown }).name
  return typeof name === 'string' && isBlank(name)
}

/**
 * The lead form, validated with one error per field in words a person can act on
 * (`details: [{field, path, message}]`), identical for `POST /api/quote` and the action.
 */
export function validateQuote(raw: unknown): QuoteFields {
  const input = normalise(raw)
  const valid = validator.Check(input)
  if (valid && !metadataTooLarge(input) && !localeInvalid(input)) return input as QuoteFields
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError('The quote form must be a JSON object', [
      { field: '', path: '/payload', message: 'must be an object' },
    ])
  }
  const byField = new Map<string, FieldError>()
  const add = (field: string, message: string) => {
    if (!byField.has(field)) byField.set(field, { field, path: `/payload/${field}`, message })
  }
  for (const e of valid ? [] : validator.Errors(input)) {
    const params = e.params as { requiredProperties?: string[]; additionalProperties?: string[] }
    if (e.keyword === 'required') {
      for (const f of params.requiredProperties ?? []) add(f, `${f} is required`)
    } else if (e.keyword === 'additionalProperties') {
      for (const f of params.additionalProperties ?? []) add(f, `${f} is not a field of the quote form`)
    } else {
      const field = e.instancePath.split('/')[1] ?? ''
      // Own keys only: `constructor` or `toString` is no field, and their hint no function.
      if (field && !Object.hasOwn(QuoteFields.properties, field))
        add(field, `${field} is not a field of the quote form`)
      else if (field === 'email' && localPartNotAscii(input)) add(field, EMAIL_NOT_ASCII_HINT)
      else if (field === 'name' && nameShowsNothing(input)) add(field, NAME_NOT_VISIBLE_HINT)
      else if (field)
        add(field, Object.hasOwn(FIELD_HINTS, field) ? FIELD_HINTS[field]! : `${field} ${e.message}`)
    }
  }
  if (!byField.has('metadata') && metadataTooLarge(input)) add('metadata', FIELD_HINTS.metadata!)
  if (localeInvalid(input)) add('locale', FIELD_HINTS.locale!)
  const details = [...byField.values()]
  throw new ValidationError(
    `The quote form has ${details.length} invalid field${details.length === 1 ? '' : 's'}: ${details
      .map((d) => d.field)
      .join(', ')}`,
    details,
  )
}
