import { useEffect, useRef, useState } from 'preact/hooks'
import type { OvasabiClient } from '../../../client/index.js'
import { useLoad } from './api.js'
import { LoadView } from './ui.js'

/** The service graph: a Mermaid diagram when Amadeus serves one, and the module/action tables. */
export function GraphView({ client }: { client: OvasabiClient }) {
  const [graph] = useLoad(() => client.amadeus.graph(), [client])
  const [diagram] = useLoad(() => client.amadeus.diagram(), [client])
  return (
    <section>
      <h1>Service graph</h1>
      <div class="panel">
        <h2>Diagram</h2>
        <LoadView value={diagram} what="diagram">
          {(text) => <Mermaid source={text} />}
        </LoadView>
      </div>
      <LoadView value={graph} what="service graph">
        {(g) => (
          <div class="grid-2">
            <div class="panel">
              <h2>Modules</h2>
              <ul class="modules" data-testid="graph-modules">
                {g.modules.map((m) => (
                  <li key={String(m.name)}>
                    <strong>{String(m.name)}</strong> <span class="muted">v{String(m.version ?? '')}</span>
                    <div class="muted small">{String(m.description ?? '')}</div>
                    {Array.isArray(m.dependencies) && m.dependencies.length > 0 && (
                      <div class="chips">
                        {(m.dependencies as string[]).map((d) => (
                          <span class="chip" key={d}>
                            → {d}
                          </span>
                        ))}
                      </div>
                    )}
                  </li>
                ))}
              </ul>
            </div>
            <div class="panel">
              <h2>Actions</h2>
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">Action</th>
                    <th scope="col">Feature</th>
                    <th scope="col">Role</th>
                  </tr>
                </thead>
                <tbody>
                  {g.actions.map((a) => (
                    <tr key={a.name}>
                      <td>
                        <code>{a.name}</code>
                        {a.aliases.length > 0 && <div class="muted small">{a.aliases.join(', ')}</div>}
                      </td>
                      <td>{a.feature}</td>
                      <td>{a.role}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        )}
      </LoadView>
    </section>
  )
}

/** Mermaid is loaded on demand (it is large) and renders in strict mode, which sanitises labels. */
function Mermaid({ source }: { source: string }) {
  const host = useRef<HTMLDivElement>(null)
  const [error, setError] = useState<string>()
  useEffect(() => {
    let stop = false
    ;(async () => {
      try {
        const { default: mermaid } = await import('mermaid')
        mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral' })
        const { svg } = await mermaid.render(`graph-${Date.now()}`, source)
        if (!stop && host.current) host.current.innerHTML = svg
      } catch (err) {
        if (!stop) setError(String(err))
      }
    })()
    return () => {
      stop = true
    }
  }, [source])
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
