import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, type TestContext } from '../helper.js'

const SRC = join(import.meta.dirname, '..', '..', 'src')

/** Call sites whose channel is their caller's: `history.publish(channel, …)` gets it from publish.ts. */
const FORWARDED = new Set(['realtime/history.ts: channel', 'realtime/history-redis.ts: channel'])

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return sources(path)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : []
  })
}

/** `${campaign}` in a template is `{campaign}` in a manifest. */
const pattern = (template: string) => template.replace(/\$\{\s*(\w+)[^}]*\}/g, '{$1}')

/**
 * Every channel the code publishes or subscribes on a bus (`bus.publish(X, …)`, `this.deps.bus
 * .subscribe(X, …)`), X resolved from a string, a constant (`const X = '…'`) or a function of the
 * campaign (`(campaign) => \`…${campaign}\``), in the file or anywhere in src.
 */
function channelsInCode(): { uses: Map<string, Set<string>>; unresolved: string[] } {
  const files = sources(SRC).map((path) => ({ path, text: readFileSync(path, 'utf8') }))
  const definitions = (text: string) => {
    const found = new Map<string, string>()
    for (const m of text.matchAll(/\bconst (\w+)\s*=\s*(?:'([^']+)'|\([^)]*\)\s*=>\s*`([^`]+)`|([^\n]+))/g))
      found.set(m[1]!, m[2] ?? (m[3] ? pattern(m[3]) : `=${m[4]!.trim()}`))
    for (const m of text.matchAll(/\bfunction (\w+)\([^)]*\)[^{]*\{\s*return `([^`]+)`/g))
      found.set(m[1]!, pattern(m[2]!))
    return found
  }
  const global = new Map<string, string>()
  for (const f of files)
    for (const [k, v] of definitions(f.text)) if (!v.startsWith('=') && !global.has(k)) global.set(k, v)

  const uses = new Map<string, Set<string>>()
  const unresolved: string[] = []
  for (const f of files) {
    const local = definitions(f.text)
    const resolve = (expr: string, depth = 0): string | undefined => {
      const e = expr.trim()
      const literal = /^'([^']+)'$/.exec(e)
      if (literal) return literal[1]
      const name = /^(?:\w+\.)*(\w+)(?:\(.*\))?$/s.exec(e)?.[1]
      if (!name || depth > 3) return undefined
      const v = local.get(name) ?? global.get(name)
      if (v?.startsWith('=')) return resolve(v.slice(1), depth + 1)
      return v
    }
    for (const m of f.text.matchAll(/\bbus\??\s*\.(publish|subscribe)\(\s*([^,]+?)\s*,/g)) {
      const channel = resolve(m[2]!)
      const where = `${relative(SRC, f.path)}: ${m[2]!.trim()}`
      if (channel === undefined) {
        if (!FORWARDED.has(where)) unresolved.push(where)
        continue
      }
      const direction = m[1] === 'publish' ? 'emits' : 'consumes'
      if (!uses.has(channel)) uses.set(channel, new Set())
      uses.get(channel)!.add(direction)
    }
  }
  return { uses, unresolved }
}

describe('bus channels: what the code publishes and subscribes is what the manifests declare', () => {
  let t: TestContext
  before(async () => {
    t = await buildTestApp()
  })
  after(() => t.close())

  it('every channel the code uses is declared in that direction, and every declared one is used', () => {
    const { uses, unresolved } = channelsInCode()
    assert.deepEqual(unresolved, [], 'a bus call whose channel this test cannot read: name it in a constant')
    assert.ok(
      uses.has('ovasabi:realtime:c:{campaign}') && uses.has('ovasabi:campaign:changed'),
      'the scan finds calls',
    )
    const declared = new Set<string>()
    for (const m of t.app.modules.list())
      for (const e of m.events) if (e.channel === 'bus') declared.add(`${e.direction} ${e.name}`)
    const inCode = new Set([...uses].flatMap(([name, dirs]) => [...dirs].map((d) => `${d} ${name}`)))
    assert.deepEqual(
      [...inCode].filter((u) => !declared.has(u)).sort(),
      [],
      'used in code, declared by no manifest',
    )
    assert.deepEqual(
      [...declared].filter((d) => !inCode.has(d)).sort(),
      [],
      'declared by a manifest, used by no code',
    )
  })
})
