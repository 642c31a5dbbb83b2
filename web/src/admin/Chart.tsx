/**
 * Axis ticks from 0 to at least `max`, about `count` of them, a step of 1, 2 or 5 × 10ⁿ. Counts
 * (whole numbers) get whole steps: halving a peak of 1 labelled the axis "1, 1, 0".
 */
export function axisTicks(max: number, integers: boolean, count = 4): number[] {
  const peak = Number.isFinite(max) && max > 0 ? max : 1
  const rough = peak / count
  const magnitude = 10 ** Math.floor(Math.log10(rough))
  const nice = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude
  const step = integers ? Math.max(1, Math.round(nice)) : nice
  const top = Math.ceil(peak / step - 1e-9) * step
  const out: number[] = []
  // Rounded to the step's decimals, so 0.1 × 3 is labelled 0.3, not 0.30000000000000004.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)))
  for (let i = 0; i * step <= top + step / 2; i++) out.push(Number((i * step).toFixed(decimals)))
  return out
}

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
  const max = Math.max(0, ...pts.map((p) => p.v))
  const ticks = axisTicks(
    max,
    pts.every((p) => Number.isInteger(p.v)),
  )
  const top = ticks[ticks.length - 1]!
  const t0 = pts[0]?.t ?? 0
  const t1 = Math.max(t0 + 1, pts[pts.length - 1]?.t ?? 1)
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (W - pad.l - pad.r)
  const y = (v: number) => pad.t + (1 - v / top) * (H - pad.t - pad.b)
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
      {ticks.map((v) => (
        <g key={v}>
          <line x1={pad.l} x2={W - pad.r} y1={y(v)} y2={y(v)} class="chart-grid" />
          <text x={pad.l - 6} y={y(v) + 4} class="chart-axis" data-tick={v} text-anchor="end">
            {v}
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
