// Summarise a V8 .cpuprofile (from `node --cpu-prof`, e.g. `npm run bench -- --profile=DIR`):
// top functions by self time, and self time by package / source file.
//   node --import tsx bench/profile.ts FILE.cpuprofile [--top=40] [--last=SECONDS]
// --last keeps only the final SECONDS of samples (the measured window, without start-up).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string' }, last: { type: 'string' } },
})
const file = positionals[0]
if (!file) {
  console.error('usage: node --import tsx bench/profile.ts FILE.cpuprofile [--top=40]')
  process.exit(2)
}
const top = Number(values.top ?? 40)
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

const selfUs = new Map<number, number>()
const times: number[] = []
let t = 0
for (const d of profile.timeDeltas) {
  t += d
  times.push(t)
}
const from = values.last ? t - Number(values.last) * 1e6 : Number.NEGATIVE_INFINITY
for (const [i, id] of profile.samples.entries()) {
  if (times[i]! >= from) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)

/** `node_modules/<pkg>` (scoped too), `src/...` or `node:...` for a script URL. */
function area(url: string): string {
  if (!url) return '(native/gc/idle)'
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm) return nm[1]!
  const src = /\/(src|bench)\/(.+)$/.exec(url)
  if (src) return `${src[1]}/${src[2]}`
  return url.replace(/^file:\/\//, '')
}

const byFunction = new Map<string, number>()
const byArea = new Map<string, number>()
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0
  if (!us) continue
  const f = node.callFrame
  const name = `${f.functionName || '(anonymous)'}  ${area(f.url)}:${f.lineNumber + 1}`
  byFunction.set(name, (byFunction.get(name) ?? 0) + us)
  byArea.set(area(f.url), (byArea.get(area(f.url)) ?? 0) + us)
}

const show = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
    )
  }
}
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`)
show('Self time by package / file', byArea)
show('Self time by function', byFunction)
