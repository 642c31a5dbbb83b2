// Opens BENCH_IDLE authenticated sockets to Ovasabi from several 127.0.0.x source addresses (one
// address has ~28k ephemeral ports) and keeps them idle; prints OPEN when all are connected.
import WebSocket from 'ws'
import { createTokenService } from '../../src/platform/auth/tokens.js'

const port = Number(process.env.BENCH_PORT)
const total = Number(process.env.BENCH_IDLE ?? 19000)
const tokens = createTokenService({ secret: process.env.BENCH_JWT_SECRET ?? '', ttlSeconds: 3600 })
const sockets: WebSocket[] = []
let failed = 0
for (let i = 0; i < total; i += 200) {
  await Promise.all(
    Array.from({ length: Math.min(200, total - i) }, async (_, k) => {
      const { token } = await tokens.issueGuest()
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/bench/guest?token=${token}`, {
        perMessageDeflate: false,
        localAddress: `127.0.0.${2 + ((i + k) % 8)}`,
      })
      ws.on('error', () => {})
      await new Promise<void>((resolve) => {
        ws.once('message', () => resolve())
        ws.once('close', () => {
          failed++
          resolve()
        })
      })
      sockets.push(ws)
    }),
  )
}
process.stdout.write(`OPEN ${JSON.stringify({ open: sockets.length - failed, failed })}\n`)
setInterval(() => {}, 60_000)
