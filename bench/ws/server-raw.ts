// The ceiling for Node: a bare `ws` server doing the same per-tick batching (newest `cap` cursors,
// one serialisation per tick, the same buffer to every socket that keeps up). No auth, no rooms.
import { WebSocketServer } from 'ws'

const rate = Number(process.env.BENCH_HZ ?? 10)
const cap = Number(process.env.BENCH_CAP ?? 100)
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false })
let dirty = new Map<string, [string, number, number]>()
let left: string[] = []
let tick = 0
let seq = 0
wss.on('connection', (ws) => {
  const id = (++seq).toString(36)
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString())
    if (m.type !== 'cursor') return
    dirty.delete(id)
    dirty.set(id, [id, m.x, m.y])
  })
  ws.on('close', () => left.push(id))
})
setInterval(() => {
  tick++
  const cursors = [...dirty.values()].slice(-cap).reverse()
  dirty = new Map()
  const frame = Buffer.from(
    JSON.stringify({ type: 'presence_update', active_users: wss.clients.size, cursors, left, tick }),
  )
  left = []
  for (const ws of wss.clients) if (ws.bufferedAmount < 65536) ws.send(frame, { binary: false })
}, 1000 / rate)
wss.on('listening', () => {
  const addr = wss.address()
  process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`)
})
// Exit on SIGTERM through process.exit, so `--cpu-prof` (BENCH_NODE_ARGS) writes its profile.
process.once('SIGTERM', () => process.exit(0))
