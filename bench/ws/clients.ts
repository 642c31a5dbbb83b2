// The client side of the benchmark, in its own process: N sockets each sending a cursor at
// BENCH_HZ, counting what arrives. A cursor's x carries its send time (ms modulo 10 s, in the
// 4 decimals the server keeps), so latency is measured on every delivered cursor, not a sample.
import { io as ioClient, type Socket } from 'socket.io-client'
import WebSocket from 'ws'
import { createTokenService } from '../../src/platform/auth/tokens.js'

const kind = process.env.BENCH_KIND as 'ovasabi' | 'raw' | 'socketio'
const port = Number(process.env.BENCH_PORT)
const n = Number(process.env.BENCH_CLIENTS ?? 250)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const hz = Number(process.env.BENCH_HZ ?? 10)
const warmupMs = 2000

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

async function open(i: number): Promise<Sender> {
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
      : `ws://127.0.0.1:${port}/ws/bench/guest?token=${(await tokens.issueGuest()).token}`
  const ws = new WebSocket(url, { perMessageDeflate: false })
  ws.on('message', onFrame)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  void i
  return (x, y) => ws.send(JSON.stringify({ type: 'cursor', x, y }))
}

const senders: Sender[] = []
for (let i = 0; i < n; i += 50) {
  senders.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, k) => open(i + k)))))
}
// Sends are spread over the period: every 10 ms a slice of the clients moves.
const slices = Math.max(1, Math.round(1000 / hz / 10))
let slice = 0
const mover = setInterval(() => {
  const now = Date.now()
  const x = Math.round((now % 10_000) / 10) / 1000
  for (let i = slice; i < senders.length; i += slices) {
    senders[i]!(x, (i % 1000) / 1000)
    if (measuring) sent++
  }
  slice = (slice + 1) % slices
}, 10)
await new Promise((r) => setTimeout(r, warmupMs))
measuring = true
process.stdout.write('START\n')
await new Promise((r) => setTimeout(r, seconds * 1000))
measuring = false
clearInterval(mover)
const total = latency.reduce((a, b) => a + b, 0)
const pct = (p: number) => {
  let acc = 0
  for (let ms = 0; ms < latency.length; ms++) {
    acc += latency[ms]!
    if (acc >= total * p) return ms
  }
  return Number.NaN
}
process.stdout.write(
  `END ${JSON.stringify({
    kind,
    clients: n,
    seconds,
    sent_per_s: Math.round(sent / seconds),
    frames_per_s: Math.round(frames / seconds),
    cursors_per_s: Math.round(cursors / seconds),
    p50_ms: pct(0.5),
    p99_ms: pct(0.99),
  })}\n`,
)
process.exit(0)
