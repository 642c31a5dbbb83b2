/**
 * A schema's own words for a value its `pattern` refuses (`errorMessage`, as ajv-errors names the
 * keyword): a regular expression such as a display name's says nothing a person can act on. Where
 * a schema gives none, the validator's message (`must match pattern "^wh_[0-9A-Z]{26}$"`) stands:
 * a short pattern is its own best description. REST (Ajv) and actions (TypeBox) both use it.
 */
export function patternMessage(schema: unknown, fallback: string): string {
  const own = (schema as { errorMessage?: unknown } | null | undefined)?.errorMessage
  return typeof own === 'string' ? own : fallback
}

/** The part of `root` a TypeBox error's `schemaPath` (`#/properties/consent/properties/text_version`) is. */
export function schemaAt(root: unknown, schemaPath: string): unknown {
  let node = root
  for (const token of schemaPath.replace(/^#/, '').split('/')) {
    if (token === '') continue
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[token.replaceAll('~1', '/').replaceAll('~0', '~')]
  }
  return node
}
