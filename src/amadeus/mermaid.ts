import type { Graph, NodeType } from './graph.schema.js'

/** Node shapes by type, so a diagram reads at a glance. */
const SHAPES: Record<NodeType, [string, string]> = {
  module: ['[', ']'],
  endpoint: ['(', ')'],
  action: ['([', '])'],
  event: ['>', ']'],
  table: ['[(', ')]'],
  feature: ['{{', '}}'],
  campaign: ['[/', '/]'],
  external: ['[[', ']]'],
}

const STYLES: Record<NodeType, string> = {
  module: 'fill:#dbeafe,stroke:#1d4ed8',
  endpoint: 'fill:#f1f5f9,stroke:#475569',
  action: 'fill:#ede9fe,stroke:#6d28d9',
  event: 'fill:#fef9c3,stroke:#a16207',
  table: 'fill:#dcfce7,stroke:#15803d',
  feature: 'fill:#ffedd5,stroke:#c2410c',
  campaign: 'fill:#fce7f3,stroke:#be185d',
  external: 'fill:#e5e7eb,stroke:#111827',
}

/** Mermaid labels are quoted; quotes and markup characters become entity codes. */
function label(text: string): string {
  return text.replace(/["<>#&]/g, (c) => `#${c.charCodeAt(0)};`)
}

/**
 * A Mermaid flowchart of the graph (or of a focused part of it). Node ids are positional
 * (`n0`, `n1`…) because graph ids contain characters Mermaid does not accept in ids; the focused
 * node gets the `focus` class.
 */
export function renderMermaid(graph: Graph, options: { focus?: string } = {}): string {
  const lines = ['flowchart LR']
  const ids = new Map<string, string>()
  graph.nodes.forEach((n, i) => {
    const id = `n${i}`
    ids.set(n.id, id)
    const [open, close] = SHAPES[n.type]
    lines.push(`  ${id}${open}"${label(n.label)}"${close}:::${n.type}`)
  })
  for (const e of graph.edges) {
    const from = ids.get(e.from)
    const to = ids.get(e.to)
    if (from && to) lines.push(`  ${from} -->|${e.type}| ${to}`)
  }
  const used = new Set(graph.nodes.map((n) => n.type))
  for (const [type, style] of Object.entries(STYLES))
    if (used.has(type as NodeType)) lines.push(`  classDef ${type} ${style}`)
  const focus = options.focus ? ids.get(options.focus) : undefined
  if (focus) {
    lines.push('  classDef focus stroke:#dc2626,stroke-width:3px')
    lines.push(`  class ${focus} focus`)
  }
  return `${lines.join('\n')}\n`
}
