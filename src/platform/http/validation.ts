import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

function build(coerceTypes: boolean | 'array') {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: true,
    strict: false,
    // Errors carry their schema (`parentSchema`): a pattern's own words (`patternMessage`).
    verbose: true,
  })
  ;(addFormats as unknown as (a: Ajv) => void)(ajv)
  return ajv
}

/**
 * Bodies are validated strictly (a number where a string belongs is an error, unknown fields are
 * refused); query strings and params are coerced, since everything there arrives as a string.
 */
export function registerValidation(app: FastifyInstance): void {
  const strict = build(false)
  const coercing = build('array')
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  )
}
