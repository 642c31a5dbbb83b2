import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { Value } from 'typebox/value'
import { buildApp } from '../app.js'
import type { Config } from '../config.js'
import { KG_HELP } from './cli-help.js'
import { ExportDocument, type GraphEdge, NODE_TYPES, type NodeType } from './graph.schema.js'

/**
 * The real app (real manifests; a database behind this version is refused, not migrated: see
 * `BuildOptions.readOnly`), never listening; closed afterwards. It is
 * read-only (see `BuildOptions.readOnly`) and never started (`ready()`): pointed at a deployment's
 * database it writes no campaign, key or snapshot of its own, and runs none of the servers'
 * workers (the upload sweeper would fail their uploads in flight); `kg import` writes only what it
 * imports.
 */
async function withApp<T>(config: Config, fn: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const app = await buildApp(config, { logger: false, readOnly: true })
  try {
    return await fn(app)
  } finally {
    await app.close()
  }
}

function usage(message: string): number {
  console.error(`${message}\n\nUsage:\n${KG_HELP}`)
  return 2
}

/** `A ⇢ B (depends_on) ⇢ C (exposes)`: how the change travels, from the root outwards. */
export function describePath(root: string, path: GraphEdge[]): string {
  let current = root
  const parts = [root]
  for (const e of path) {
    current = e.from === current ? e.to : e.from
    parts.push(`${current} (${e.type})`)
  }
  return parts.join(' ⇢ ')
}

/** How many arguments each command takes after its name. */
const ARGUMENTS: Record<string, number> = {
  show: 0,
  impact: 1,
  diagram: 0,
  validate: 0,
  history: 0,
  export: 0,
  import: 1,
}

const OPTIONS = {
  json: { type: 'boolean' },
  type: { type: 'string' },
  focus: { type: 'string' },
  depth: { type: 'string' },
  out: { type: 'string' },
} as const

/**
 * `ovasabi kg …`: the service graph from the command line (and CI's `kg validate`). What it prints
 * reaches a pipe whole: `main` (cli.ts) flushes stdout and stderr before the process exits.
 */
export async function kgCommand(config: Config, args: string[]): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>
  >
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: OPTIONS })
  } catch (err) {
    // An unknown option or one without its value is the caller's mistake: say so, exit 2.
    return usage((err as Error).message)
  }
  const { values, positionals } = parsed
  const [sub, arg] = positionals
  const takes = sub === undefined ? undefined : ARGUMENTS[sub]
  if (takes !== undefined && positionals.length > 1 + takes)
    return usage(`Unexpected argument "${positionals[1 + takes]}" for kg ${sub}.`)
  const print = (v: unknown) => {
    console.log(JSON.stringify(v, null, 2))
    return 0
  }

  switch (sub) {
    case 'show': {
      const type = values.type as NodeType | undefined
      if (type && !NODE_TYPES.includes(type)) return usage(`--type must be one of ${NODE_TYPES.join(', ')}`)
      return withApp(config, async (app) => {
        const g = await app.amadeus.liveFiltered(type)
        if (values.json) return print(g)
        console.log(`Service graph ${g.hash.slice(0, 12)}: ${g.nodes.length} nodes, ${g.edges.length} edges`)
        for (const t of NODE_TYPES) {
          const nodes = g.nodes.filter((n) => n.type === t)
          if (nodes.length === 0) continue
          console.log(`\n${t} (${nodes.length})`)
          for (const n of nodes) {
            const h = n.runtime.health ? ` [${n.runtime.health.status}]` : ''
            const tr = n.runtime.traffic
            const traffic =
              tr && tr.requests > 0 ? ` (${tr.requests} requests, error rate ${tr.error_rate})` : ''
            console.log(`  ${n.id}${h}${traffic}`)
            for (const e of g.edges.filter((e) => e.from === n.id)) console.log(`      -${e.type}-> ${e.to}`)
          }
        }
        return 0
      })
    }
    case 'impact': {
      if (!arg) return usage('kg impact needs a node, e.g. `ovasabi kg impact redis`')
      return withApp(config, async (app) => {
        const result = await app.amadeus.impact(arg)
        if (values.json) return print(result)
        console.log(`Impact of ${result.node.id}: ${result.count} node(s) rely on it`)
        for (const i of result.impacted)
          console.log(`  ${i.node.id}\n      ${describePath(result.node.id, i.path)}`)
        return 0
      })
    }
    case 'diagram': {
      const depth = values.depth === undefined ? undefined : Number(values.depth)
      if (depth !== undefined && !(Number.isInteger(depth) && depth >= 0 && depth <= 10))
        return usage('--depth must be an integer from 0 to 10')
      return withApp(config, async (app) => {
        process.stdout.write(await app.amadeus.diagram({ focus: values.focus, depth }))
        return 0
      })
    }
    case 'validate':
      return withApp(config, async (app) => {
        const problems = await app.amadeus.validate()
        if (values.json) print({ ok: problems.length === 0, problems })
        else if (problems.length === 0) {
          const g = await app.amadeus.graph()
          console.log(
            `Service graph is consistent: ${app.modules.list().length} modules, ${g.nodes.length} nodes, ${g.edges.length} edges.`,
          )
        } else {
          console.error(`Service graph validation failed (${problems.length} problem(s)):`)
          for (const p of problems) console.error(`  - [${p.code}] ${p.subject}: ${p.message}`)
        }
        return problems.length === 0 ? 0 : 1
      })
    case 'history':
      return withApp(config, async (app) => {
        const rows = await app.amadeus.history(1000)
        if (values.json) return print(rows)
        for (const r of rows) {
          const d = r.diff
          console.log(
            `v${r.version}\t${r.created_at.toISOString()}\t${r.reason}\t${r.node_count} nodes, ${r.edge_count} edges\t` +
              `+${d.added_nodes.length}/-${d.removed_nodes.length} nodes, +${d.added_edges.length}/-${d.removed_edges.length} edges`,
          )
        }
        return 0
      })
    case 'export':
      return withApp(config, async (app) => {
        const doc = JSON.stringify(await app.amadeus.exportAll(), null, 2)
        if (values.out) {
          try {
            writeFileSync(values.out, `${doc}\n`)
          } catch (err) {
            console.error(`Cannot write ${values.out}: ${(err as Error).message}`)
            return 1
          }
          console.error(`Wrote ${values.out}`)
        } else console.log(doc)
        return 0
      })
    case 'import': {
      if (!arg) return usage('kg import needs a file written by `ovasabi kg export`')
      let doc: unknown
      try {
        doc = JSON.parse(readFileSync(arg, 'utf8'))
      } catch (err) {
        console.error(`Cannot read ${arg}: ${(err as Error).message}`)
        return 1
      }
      if (!Value.Check(ExportDocument, doc)) {
        const first = [...Value.Errors(ExportDocument, doc)].slice(0, 5)
        console.error(`${arg} is not an Amadeus export:`)
        for (const e of first) console.error(`  - ${e.instancePath || '/'}: ${e.message}`)
        return 1
      }
      return withApp(config, async (app) => {
        const r = await app.amadeus.importAll(doc as ExportDocument)
        console.log(`Imported ${r.imported} snapshot(s), skipped ${r.skipped} already present.`)
        return 0
      })
    }
    default:
      return usage(sub ? `Unknown kg command "${sub}".` : 'kg needs a command.')
  }
}
