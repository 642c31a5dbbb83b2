/** A small line chart drawn as SVG: one series of numbers over time. */
export function LineChart(props: {
  points: Array<{ t: number; v: number }>
  label: string
  height?: number
}) {
  const W = 560
  const H = props.height ?? 140
  const pad = { l: 32, r: 8, t: 10, b: 20 }
  const pts = props.points
  const max = Math.max(1, ...pts.map((p) => p.v))
  const t0 = pts[0]?.t ?? 0
  const t1 = Math.max(t0 + 1, pts[pts.length - 1]?.t ?? 1)
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (W - pad.l - pad.r)
  const y = (v: number) => pad.t + (1 - v / max) * (H - pad.t - pad.b)
  const line = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')
  const area = pts.length > 1 ? `${line} L${x(t1).toFixed(1)},${y(0)} L${x(t0).toFixed(1)},${y(0)} Z` : ''
  const last = pts[pts.length - 1]
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`${props.label}: ${last?.v ?? 0} now, peak ${max}`}
    >
      <defs>
        <linearGradient id="chart-fill" x1="0" y1="0" x2="0" y2="1">
          <stop offset="0" stop-color="#7c5cff" stop-opacity="0.35" />
          <stop offset="1" stop-color="#7c5cff" stop-opacity="0" />
        </linearGradient>
      </defs>
      {[0, 0.5, 1].map((f) => (
        <g key={f}>
          <line x1={pad.l} x2={W - pad.r} y1={y(max * f)} y2={y(max * f)} class="chart-grid" />
          <text x={pad.l - 6} y={y(max * f) + 4} class="chart-axis" text-anchor="end">
            {Math.round(max * f)}
          </text>
        </g>
      ))}
      {area && <path d={area} fill="url(#chart-fill)" />}
      {pts.length > 1 && <path d={line} class="chart-line" />}
      {last && <circle cx={x(last.t)} cy={y(last.v)} r="4" class="chart-dot" />}
      <text x={pad.l} y={H - 4} class="chart-axis">
        {pts.length > 1 ? `${Math.round((t1 - t0) / 1000)} s` : 'collecting…'}
      </text>
    </svg>
  )
}
