// One load-client process of the benchmark (run.ts starts BENCH_CLIENT_PROCS of them): its share
// of the N sockets, each sending a cursor at BENCH_HZ, counting what arrives. A cursor's x carries
// its send time (ms modulo 10 s, in the 4 decimals the server keeps), so latency is measured on
// every delivered cursor, not a sample. Talks to run.ts over IPC: `ready` once every socket is
// open, then `go` with the wall-clock window to measure, then it answers its counts and its
// latency histogram (1 ms buckets) so run.ts can merge percentiles over all processes.
import { io as ioClient, type Socket } from 'socket.io-client'
import WebSocket from 'ws'
import { createTokenService } from '../../src/platform/auth/tokens.js'

const kind = process.env.BENCH_KIND as 'ovasabi' | 'raw' | 'socketio'
const port = Number(process.env.BENCH_PORT)
const path = process.env.BENCH_PATH ?? '/ws/bench/guest'
const n = Number(process.env.BENCH_CLIENTS ?? 250)
/** Index of this process's first client among all processes (spreads the y values). */
const first = Number(process.env.BENCH_CLIENT_FIRST ?? 0)
const hz = Number(process.env.BENCH_HZ ?? 10)

const latency = new Uint32Array(10_000)
let frames = 0
let cursors = 0
let sent = 0
let measuring = false

function record(x: number) {
  const ms = (Date.now() % 10_000) - Math.round(x * 10_000)
  latency[(ms + 10_000) % 10_000]!++
}

function onFrame(raw: WebSocket.RawData) {
  if (!measuring) return
  const f = JSON.parse(raw.toString())
  if (f.type !== 'presence_update') return
  frames++
  cursors += f.cursors.length
  for (const c of f.cursors) record(c[1])
}

const tokens = createTokenService({ secret: process.env.BENCH_JWT_SECRET ?? '', ttlSeconds: 3600 })
type Sender = (x: number, y: number) => void

async function open(): Promise<Sender> {
  if (kind === 'socketio') {
    const s: Socket = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true })
    s.on('cursor', (c: [string, number, number]) => {
      if (!measuring) return
      frames++
      cursors++
      record(c[1])
    })
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve())
      s.once('connect_error', reject)
    })
    return (x, y) => s.emit('cursor', x, y)
  }
  const url =
    kind === 'raw'
      ? `ws://127.0.0.1:${port}/`
      : `ws://127.0.0.1:${port}${path}?token=${(await tokens.issueGuest()).token}`
  const ws = new WebSocket(url, { perMessageDeflate: false })
  ws.on('message', onFrame)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return (x, y) => ws.send(JSON.stringify({ type: 'cursor', x, y }))
}

const senders: Sender[] = []
for (let i = 0; i < n; i += 50) {
  senders.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => open()))))
}
process.send!({ ready: true })
const go = await new Promise<{ measureAt: number; endAt: number }>((resolve) =>
  process.once('message', (m) => resolve(m as { measureAt: number; endAt: number })),
)

// Sends are spread over the period: every 10 ms a slice of the clients moves. Slices follow the
// wall clock, so a late timer catches up (at most one period) instead of lowering the send rate.
const slices = Math.max(1, Math.round(1000 / hz / 10))
const startedAt = Date.now()
let done = 0
const mover = setInterval(() => {
  const due = Math.floor((Date.now() - startedAt) / 10)
  done = Math.max(done, due - slices)
  for (; done < due; done++) {
    const x = (Date.now() % 10_000) / 10_000
    for (let i = done % slices; i < senders.length; i += slices) {
      senders[i]!(x, ((first + i) % 1000) / 1000)
      if (measuring) sent++
    }
  }
}, 10)
await new Promise((r) => setTimeout(r, go.measureAt - Date.now()))
measuring = true
await new Promise((r) => setTimeout(r, go.endAt - Date.now()))
measuring = false
clearInterval(mover)
// Sparse histogram: [ms, count] pairs.
const histogram: Array<[number, number]> = []
for (let ms = 0; ms < latency.length; ms++) if (latency[ms]! > 0) histogram.push([ms, latency[ms]!])
process.send!({ sent, frames, cursors, histogram }, () => process.exit(0))
