import { cpus, totalmem } from 'node:os'
import type { LoadResult } from './load.js'
import { machineLoad } from './proc.js'

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–'

/**
 * A markdown table of load results. With `baseline` (a row name), req/s and p99 are also shown
 * as ratios to that row. `notes` adds a last column (e.g. what the scenario does).
 */
export function markdownTable(
  results: LoadResult[],
  options: { baseline?: string; notes?: Record<string, string> } = {},
): string {
  const base = options.baseline ? results.find((r) => r.name === options.baseline) : undefined
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms']
  if (base) header.push(`req/s ÷ ${base.name}`, `p99 ÷ ${base.name}`)
  const commands = [...new Set(results.flatMap((r) => Object.keys(r.commandCpu)))]
  header.push('errors', 'non-2xx', 'server CPU', 'CPU ms/req', 'server RSS (max)')
  header.push(...commands.map((c) => `${c} CPU`), 'load gen CPU')
  if (options.notes) header.push('notes')
  const rows = results.map((r) => {
    const row = [r.name, fmt(r.rps), fmt(r.p50, 1), fmt(r.p99, 1)]
    if (base) row.push(`${fmt(r.rps / base.rps, 2)}×`, `${fmt(r.p99 / base.p99, 2)}×`)
    row.push(
      fmt(r.errors + r.timeouts),
      fmt(r.non2xx),
      r.process ? `${fmt(r.process.cpuPercent)} %` : '–',
      r.process && r.rps > 0 ? fmt((r.process.cpuPercent * 10) / r.rps, 2) : '–',
      r.process ? `${fmt(r.process.rssMaxMb)} MiB` : '–',
      ...commands.map((c) => (r.commandCpu[c] === undefined ? '–' : `${fmt(r.commandCpu[c]!)} %`)),
      `${fmt(r.loadGeneratorCpu)} %`,
    )
    // A scenario measured in rounds ("… , round 2") keeps its scenario's note.
    if (options.notes) {
      row.push(
        options.notes[r.name] ?? Object.entries(options.notes).find(([k]) => r.name.startsWith(k))?.[1] ?? '',
      )
    }
    return row
  })
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

/** One paragraph saying where and when the figures were taken, and how loaded the machine was. */
export function machineSummary(loadBefore = machineLoad(), stealPercent?: number): string {
  const cpu = cpus()
  const load = machineLoad()
  return [
    `- date: ${new Date().toISOString()}`,
    `- machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`,
    `- load average before the run: ${loadBefore.load1.toFixed(2)} / ${loadBefore.load5.toFixed(2)} / ${loadBefore.load15.toFixed(2)} (1 / 5 / 15 min); after: ${load.load1.toFixed(2)} / ${load.load5.toFixed(2)} / ${load.load15.toFixed(2)}`,
    ...(stealPercent === undefined
      ? []
      : [
          `- CPU time stolen by the hypervisor during the run: ${stealPercent.toFixed(1)} % (other VMs on the host)`,
        ]),
  ].join('\n')
}

/** The median: what a run of interleaved rounds reports, so one noisy round does not decide. */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
