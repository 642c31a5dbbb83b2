/**
 * ICU message placeholders (`{name}`, `{count, number}`): machine translation tends to
 * translate or reorder the argument names, which breaks the message at runtime.
 */
const PLACEHOLDER = /\{\s*([A-Za-z0-9_]+)\s*(?:,[^{}]*)?\}/g

/** Where an argument sits in a message; `simple` unless it is a plural/select with options. */
interface Span {
  start: number
  end: number
  name: string
  simple: boolean
}

/**
 * Every argument of a message, those inside plural/select options too, in order; undefined when
 * its braces do not balance. An option's text (`other {Items}`) is no argument: read as one, a
 * catalog whose locales word a select's options differently was refused as a placeholder
 * mismatch, and a translation of the options was "restored" to the source's words.
 */
function argumentSpans(text: string, base = 0): Span[] | undefined {
  const args = topLevelArguments(text)
  if (!args) return undefined
  const spans: Span[] = []
  for (const a of args) {
    spans.push({ start: base + a.start, end: base + a.end, name: a.name, simple: !a.options })
    for (const o of a.options ?? []) {
      const inner = argumentSpans(o.body, base + a.start + o.start)
      if (!inner) return undefined
      spans.push(...inner)
    }
  }
  return spans
}

/** The simple placeholders of a message as written (`{name}`), in order. */
function simplePlaceholders(text: string): Array<{ start: number; end: number }> {
  const spans = argumentSpans(text)
  if (spans) return spans.filter((s) => s.simple)
  // Unbalanced braces: what looks like a placeholder.
  return [...text.matchAll(PLACEHOLDER)].map((m) => ({ start: m.index, end: m.index + m[0].length }))
}

/** Argument names of a message (plural/select ones and those in their options), in order. */
export function placeholders(text: string): string[] {
  const spans = argumentSpans(text)
  return spans ? spans.map((s) => s.name) : [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string)
}

/** Same multiset of argument names (order may differ between languages). */
export function samePlaceholders(a: string, b: string): boolean {
  const pa = placeholders(a).sort()
  const pb = placeholders(b).sort()
  return pa.length === pb.length && pa.every((p, i) => p === pb[i])
}

/**
 * Put the source's placeholders back into a machine translation: when the names changed but
 * the count did not, each placeholder of the output is replaced, in order, by the source's.
 */
export function restorePlaceholders(source: string, translated: string): string {
  if (samePlaceholders(source, translated)) return translated
  const original = simplePlaceholders(source).map((s) => source.slice(s.start, s.end))
  const found = simplePlaceholders(translated)
  if (original.length === 0 || found.length !== original.length) return translated
  let out = ''
  let at = 0
  found.forEach((s, i) => {
    out += translated.slice(at, s.start) + original[i]
    at = s.end
  })
  return out + translated.slice(at)
}

/** A top-level `{…}` argument of a message, braces balanced. */
interface Argument {
  start: number
  end: number
  name: string
  /** `plural`, `select`, `selectordinal` carry sub-messages; other types (`number`, `date`) do not. */
  type?: string
  /** `count, plural, offset:1` — everything before the first selector. */
  head?: string
  /** `start`: where the body begins, from the argument's `{`. */
  options?: Array<{ selector: string; body: string; start: number }>
}

const COMPLEX = new Set(['plural', 'select', 'selectordinal'])

/** The top-level arguments of `text`, or undefined when its braces do not balance. */
function topLevelArguments(text: string): Argument[] | undefined {
  const args: Argument[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '{') {
      if (depth === 0) start = i
      depth++
    } else if (text[i] === '}') {
      if (depth === 0) return undefined
      depth--
      if (depth === 0) {
        const arg = parseArgument(text.slice(start + 1, i))
        if (arg) args.push({ ...arg, start, end: i + 1 })
      }
    }
  }
  return depth === 0 ? args : undefined
}

function parseArgument(inner: string): Omit<Argument, 'start' | 'end'> | undefined {
  const m = /^\s*([A-Za-z0-9_]+)\s*(?:,\s*([A-Za-z]+)\s*(?:,([\s\S]*))?)?$/.exec(inner)
  if (!m) return undefined
  const [, name, type, rest] = m as unknown as [string, string, string | undefined, string | undefined]
  if (!type || !COMPLEX.has(type) || rest === undefined) return { name, type }
  const options: Array<{ selector: string; body: string; start: number }> = []
  // Where `rest` begins in the argument, counting its `{`.
  const restAt = 1 + inner.length - rest.length
  const option = /\s*(=\d+|[A-Za-z0-9_-]+)\s*\{/y
  let pos = 0
  const offset = /^\s*offset:\s*\d+/.exec(rest)
  if (offset) pos = offset[0].length
  const headEnd = pos
  while (pos < rest.length && rest.slice(pos).trim() !== '') {
    option.lastIndex = pos
    const o = option.exec(rest)
    if (!o) return { name, type }
    let depth = 1
    let i = option.lastIndex
    for (; i < rest.length && depth > 0; i++) {
      if (rest[i] === '{') depth++
      else if (rest[i] === '}') depth--
    }
    if (depth !== 0) return { name, type }
    options.push({
      selector: o[1] as string,
      body: rest.slice(option.lastIndex, i - 1),
      start: restAt + option.lastIndex,
    })
    pos = i
  }
  return { name, type, head: `${name}, ${type},${rest.slice(0, headEnd)}`, options }
}

/**
 * The shape a translation must keep: argument names, types, and for plural/select their
 * selectors and sub-messages' shapes. Equal skeletons: the message still formats.
 */
export function skeleton(text: string): string | undefined {
  const args = topLevelArguments(text)
  if (!args) return undefined
  const parts: string[] = []
  for (const a of args) {
    if (!a.options) {
      parts.push(a.type ? `${a.name}:${a.type}` : a.name)
      continue
    }
    const options: string[] = []
    for (const o of a.options) {
      const inner = skeleton(o.body)
      if (inner === undefined) return undefined
      options.push(`${o.selector}{${inner}}`)
    }
    parts.push(`${a.name}:${a.type}[${options.sort().join(',')}]`)
  }
  return parts.sort().join(';')
}

/** True when `text` has a plural/select argument: machine translation would mangle its syntax. */
function hasComplexArgument(text: string): boolean {
  return (topLevelArguments(text) ?? []).some((a) => a.options !== undefined)
}

/**
 * How to machine-translate an ICU message without sending its syntax: one plural/select argument
 * is hoisted so that each of its options becomes a whole sentence (`You have # items`), sent as
 * plain text and put back as `{count, plural, one {…} other {…}}` — the form translators are asked
 * for anyway. Undefined for shapes it cannot hoist (several or nested plural/select arguments).
 */
export function hoist(
  text: string,
): { units: string[]; assemble(translated: string[]): string | undefined } | undefined {
  const args = topLevelArguments(text)
  const complex = args?.filter((a) => a.options)
  if (complex?.length !== 1) return undefined
  const arg = complex[0] as Required<Argument>
  const prefix = text.slice(0, arg.start)
  const suffix = text.slice(arg.end)
  // Outside the argument `#` is literal text; inside a plural option it would become the count.
  if (arg.options.length === 0 || prefix.includes('#') || suffix.includes('#')) return undefined
  if (arg.options.some((o) => hasComplexArgument(o.body))) return undefined
  const units = arg.options.map((o) => `${prefix}${o.body}${suffix}`)
  return {
    units,
    assemble(translated) {
      const bodies: string[] = []
      for (const [i, unit] of units.entries()) {
        const fixed = restorePlaceholders(unit, translated[i] as string)
        const hashes = (s: string) => s.split('#').length
        if (
          !samePlaceholders(unit, fixed) ||
          hashes(unit) !== hashes(fixed) ||
          skeleton(fixed) === undefined
        ) {
          return undefined
        }
        bodies.push(`${arg.options[i]?.selector} {${fixed}}`)
      }
      return `{${arg.head} ${bodies.join(' ')}}`
    },
  }
}
