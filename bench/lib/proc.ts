import { readdirSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'

/** Linux USER_HZ: the unit of utime/stime in /proc/<pid>/stat. It is 100 on every mainstream kernel. */
const CLOCK_TICKS = 100

export interface ProcessStats {
  /** Average CPU over the sampled window, in percent of one core (200 = two cores busy). */
  cpuPercent: number
  /** Peak resident set size seen, in MiB. */
  rssMaxMb: number
  /** Mean resident set size over the samples, in MiB. */
  rssAvgMb: number
  samples: number
}

export interface ProcessSampler {
  /** Stop sampling and return the figures for the window since `sampleProcess` was called. */
  stop(): ProcessStats
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may contain spaces and parentheses: split after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12])
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  return match ? Number(match[1]) : 0
}

/**
 * Sample a process's CPU time and RSS from `/proc/<pid>` (Linux only) every `intervalMs` until
 * `stop()`. CPU is the whole window's delta of utime+stime, so it does not depend on the interval.
 * A process that exits mid-window keeps the figures gathered until then.
 */
export function sampleProcess(pid: number, intervalMs = 250): ProcessSampler {
  const startTicks = cpuTicks(pid)
  const startAt = process.hrtime.bigint()
  let lastTicks = startTicks
  let lastAt = startAt
  const rss: number[] = [rssKb(pid)]
  const timer = setInterval(() => {
    try {
      rss.push(rssKb(pid))
      lastTicks = cpuTicks(pid)
      lastAt = process.hrtime.bigint()
    } catch {
      clearInterval(timer) // the process is gone
    }
  }, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      try {
        rss.push(rssKb(pid))
        lastTicks = cpuTicks(pid)
        lastAt = process.hrtime.bigint()
      } catch {
        // exited: use the last sample
      }
      const seconds = Number(lastAt - startAt) / 1e9
      const cpuPercent = seconds > 0 ? ((lastTicks - startTicks) / CLOCK_TICKS / seconds) * 100 : 0
      return {
        cpuPercent,
        rssMaxMb: Math.max(...rss) / 1024,
        rssAvgMb: rss.reduce((a, b) => a + b, 0) / rss.length / 1024,
        samples: rss.length,
      }
    },
  }
}

/** Load averages and core count, to say how busy the (shared) machine was around a run. */
export function machineLoad(): { load1: number; load5: number; load15: number } {
  const [load1, load5, load15] = loadavg() as [number, number, number]
  return { load1, load5, load15 }
}

function commandTicks(comm: string): number {
  let ticks = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue
      ticks += cpuTicks(Number(entry))
    } catch {
      // gone between readdir and read
    }
  }
  return ticks
}

/**
 * CPU of every process named `comm` (e.g. `postgres`: all backends) between the call and `stop()`,
 * in percent of one core. On a shared machine this includes other users of that program, and a
 * process that exits in the window takes its ticks with it, so read it as an estimate.
 */
export function sampleCommandCpu(comm: string): { stop(): number } {
  const start = commandTicks(comm)
  const at = process.hrtime.bigint()
  return {
    stop() {
      const seconds = Number(process.hrtime.bigint() - at) / 1e9
      return seconds > 0 ? ((commandTicks(comm) - start) / CLOCK_TICKS / seconds) * 100 : 0
    },
  }
}

/** CPU this process (e.g. the load generator) uses from the call until `stop()`, percent of one core. */
export function sampleSelfCpu(): { stop(): number } {
  const start = process.cpuUsage()
  const at = process.hrtime.bigint()
  return {
    stop() {
      const used = process.cpuUsage(start)
      const seconds = Number(process.hrtime.bigint() - at) / 1e9
      return seconds > 0 ? ((used.user + used.system) / 1e6 / seconds) * 100 : 0
    },
  }
}

/** Aggregate CPU time counters from `/proc/stat` (all cores), in ticks. */
function cpuTimes(): { steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number)
  return { steal: ticks[7] ?? 0, total: ticks.reduce((a, b) => a + b, 0) }
}

/**
 * Share of the machine's CPU time the hypervisor gave to other VMs (steal) between the call and
 * `stop()`, in percent. On a shared VM this is what makes one run's figures incomparable with
 * another's: every process here gets slower, not just ours.
 */
export function sampleSteal(): { stop(): number } {
  const start = cpuTimes()
  return {
    stop() {
      const end = cpuTimes()
      const total = end.total - start.total
      return total > 0 ? ((end.steal - start.steal) / total) * 100 : 0
    },
  }
}

/** Read and write syscalls a process has made (`/proc/<pid>/io` syscr / syscw); zeros if unreadable. */
function syscalls(pid: number): { reads: number; writes: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8')
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0)
    return { reads: field('syscr'), writes: field('syscw') }
  } catch {
    return { reads: 0, writes: 0 }
  }
}

function pidsOf(comm: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) pids.push(Number(entry))
    } catch {
      // gone between readdir and read
    }
  }
  return pids
}

/**
 * Read and write syscalls (socket sends and receives included) of a process, or of every process
 * named `comm`, between the call and `stop()`. On this kind of guest a loopback send costs about
 * 0.1 ms, so a request's syscalls say much of what it costs, without timing anything. Processes
 * that start or exit in the window are left out.
 */
export function sampleSyscalls(target: number | string): { stop(): { reads: number; writes: number } } {
  const pids = typeof target === 'number' ? [target] : pidsOf(target)
  const start = new Map(pids.map((pid) => [pid, syscalls(pid)]))
  return {
    stop() {
      let reads = 0
      let writes = 0
      for (const [pid, before] of start) {
        const after = syscalls(pid)
        if (after.reads === 0 && after.writes === 0) continue
        reads += after.reads - before.reads
        writes += after.writes - before.writes
      }
      return { reads, writes }
    },
  }
}
