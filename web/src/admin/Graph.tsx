import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import type { GraphNode, Impact, ImpactEntry, LiveGraph, OvasabiClient } from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { type Column, DataTable, LoadView } from './ui.js'

const TYPE_ORDER = ['module', 'feature', 'action', 'endpoint', 'event', 'table', 'campaign', 'external']

/** A node as Mermaid shows it: its type is its class (`:::module`), its label its text. */
const keyOf = (type: string, label: string) => `${type}\u0000${label.trim()}`

/**
 * The service graph as Amadeus draws it (`/api/amadeus/diagram.mmd`). Picking a node narrows the
 * diagram to its neighbourhood (`focus`, `depth`: the whole graph has hundreds of nodes) and asks
 * for its impact set (`/api/amadeus/impact`): the node and everything drawn that relies on it are
 * highlighted, and the whole set is listed with the distance and the chain of edges to it.
 */
export function GraphView({ client }: { client: OvasabiClient }) {
  const [graph] = useLoad(() => client.amadeus.graph(), [client])
  const [picked, setPicked] = useState('')
  const [depth, setDepth] = useState(1)
  const [diagram] = useLoad(
    () => client.amadeus.diagram(picked ? { focus: picked, depth } : {}),
    [client, picked, depth],
  )
  const [impact, setImpact] = useState<Impact>()
  const [error, setError] = useState<string>()

  useEffect(() => {
    setImpact(undefined)
    setError(undefined)
    if (!picked) return
    let stop = false
    client.amadeus.impact(picked).then(
      (r) => !stop && setImpact(r),
      (err) => !stop && setError(errorText(err)),
    )
    return () => {
      stop = true
    }
  }, [client, picked])

  return (
    <section>
      <h1>Service graph</h1>
      <LoadView value={graph} what="service graph">
        {(g) => (
          <Picker
            graph={g}
            value={picked}
            onPick={setPicked}
            depth={depth}
            onDepth={setDepth}
            impact={impact}
          />
        )}
      </LoadView>
      {error && (
        <p class="notice" data-tone="danger" role="alert">
          {error}
        </p>
      )}
      <div class="panel">
        <h2>
          {picked
            ? `Within ${depth} edge${depth === 1 ? '' : 's'} of ${impact?.node.label ?? picked}`
            : 'Diagram'}
        </h2>
        <LoadView value={diagram} what="diagram">
          {(text) => <Mermaid source={text} impact={impact} />}
        </LoadView>
      </div>
      {impact && <ImpactList impact={impact} />}
    </section>
  )
}

function Picker(props: {
  graph: LiveGraph
  value: string
  onPick: (id: string) => void
  depth: number
  onDepth: (depth: number) => void
  impact?: Impact
}) {
  const [filter, setFilter] = useState('')
  const { groups, shown } = useMemo(() => {
    const words = filter.toLowerCase().split(/\s+/).filter(Boolean)
    const by = new Map<string, GraphNode[]>()
    let shown = 0
    for (const n of props.graph.nodes) {
      // The picked node stays listed, or the select would show another one as picked.
      const text = `${n.type} ${n.label}`.toLowerCase()
      if (n.id !== props.value && !words.every((w) => text.includes(w))) continue
      by.set(n.type, [...(by.get(n.type) ?? []), n])
      shown++
    }
    const groups = [...by.entries()].sort((a, b) => TYPE_ORDER.indexOf(a[0]) - TYPE_ORDER.indexOf(b[0]))
    return { groups, shown }
  }, [props.graph, props.value, filter])
  return (
    <div class="panel toolbar">
      <div class="field inline">
        <label for="graph-filter">Find</label>
        <input
          id="graph-filter"
          data-testid="graph-filter"
          type="search"
          placeholder="quote, table lead…"
          value={filter}
          onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)}
        />
      </div>
      <div class="field inline grow">
        <label for="graph-node">What breaks if this changes?</label>
        <select
          id="graph-node"
          data-testid="graph-node"
          value={props.value}
          onChange={(e) => props.onPick((e.currentTarget as HTMLSelectElement).value)}
        >
          <option value="">{filter ? `Pick one of ${shown} nodes…` : 'Pick a node…'}</option>
          {groups.map(([type, nodes]) => (
            <optgroup key={type} label={type}>
              {nodes.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.label}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </div>
      <div class="field inline">
        <label for="graph-depth">Depth</label>
        <select
          id="graph-depth"
          value={String(props.depth)}
          disabled={!props.value}
          onChange={(e) => props.onDepth(Number((e.currentTarget as HTMLSelectElement).value))}
        >
          {[1, 2, 3].map((d) => (
            <option key={d} value={String(d)}>
              {d}
            </option>
          ))}
        </select>
      </div>
      <span class="muted" data-testid="graph-size">
        {props.graph.nodes.length} nodes, {props.graph.edges.length} edges
        {props.impact ? ` · ${props.impact.count} impacted` : ''}
      </span>
    </div>
  )
}

/** The impact set's columns: each node, how far it is, and the kinds of edge that lead to it. */
const IMPACT_COLUMNS: readonly Column<ImpactEntry>[] = [
  { heading: 'Node', cell: (e) => <code>{e.node.label}</code> },
  { heading: 'Type', cell: (e) => e.node.type },
  { heading: 'Distance', cell: (e) => e.distance, class: 'num' },
  { heading: 'Through', cell: (e) => e.path.map((p) => p.type).join(' → '), class: 'muted small' },
]

function ImpactList({ impact }: { impact: Impact }) {
  return (
    <div class="panel">
      <h2>
        Relies on {impact.node.label} ({impact.count})
      </h2>
      <DataTable
        label={`Relies on ${impact.node.label}`}
        testid="graph-impact"
        columns={IMPACT_COLUMNS}
        rows={impact.impacted}
        rowKey={(e) => e.node.id}
        empty="Nothing relies on this node."
        wrapClass="impact-list"
      />
    </div>
  )
}

/** Mermaid is loaded on demand (it is large) and renders in strict mode, which sanitises labels. */
function Mermaid({ source, impact }: { source: string; impact?: Impact }) {
  const host = useRef<HTMLDivElement>(null)
  const [error, setError] = useState<string>()
  const [rendered, setRendered] = useState(0)
  useEffect(() => {
    let stop = false
    ;(async () => {
      try {
        const { default: mermaid } = await import('mermaid')
        mermaid.initialize({
          startOnLoad: false,
          securityLevel: 'strict',
          theme: 'neutral',
          maxEdges: 5000,
          maxTextSize: 500_000,
        })
        const { svg } = await mermaid.render(`graph-${Date.now()}`, source)
        if (!stop && host.current) {
          host.current.innerHTML = svg
          setRendered((n) => n + 1)
        }
      } catch (err) {
        if (!stop) setError(String(err))
      }
    })()
    return () => {
      stop = true
    }
  }, [source])

  // Mark the impact set on the drawn nodes (matched by type and label).
  useEffect(() => {
    const root = host.current
    if (!root) return
    const hit = new Map<string, 'root' | 'impacted'>()
    if (impact) {
      hit.set(keyOf(impact.node.type, impact.node.label), 'root')
      for (const e of impact.impacted) hit.set(keyOf(e.node.type, e.node.label), 'impacted')
    }
    root.dataset.highlight = impact ? 'true' : 'false'
    for (const el of root.querySelectorAll<SVGGElement>('g.node')) {
      const type = TYPE_ORDER.find((t) => el.classList.contains(t)) ?? ''
      const mark = hit.get(keyOf(type, el.textContent ?? ''))
      if (mark) el.dataset.impact = mark
      else delete el.dataset.impact
    }
  }, [impact, rendered])

  return (
    <>
      {error && (
        <p class="notice" data-tone="danger">
          {error}
        </p>
      )}
      <div class="mermaid-host" ref={host} data-testid="graph-diagram" />
    </>
  )
}
