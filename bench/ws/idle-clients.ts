// One idle-client process: BENCH_IDLE authenticated sockets to one node, opened from
// BENCH_ADDRS source addresses starting at 127.0.0.BENCH_ADDR_FIRST (one address has ~28k
// ephemeral ports), then kept idle. Reports `{open, failed}` over IPC once all are settled.
import WebSocket from 'ws'
import { createTokenService } from '../../src/platform/auth/tokens.js'

const port = Number(process.env.BENCH_PORT)
const path = process.env.BENCH_PATH ?? '/ws/bench/guest'
const total = Number(process.env.BENCH_IDLE ?? 19000)
const firstAddr = Number(process.env.BENCH_ADDR_FIRST ?? 2)
const addrs = Number(process.env.BENCH_ADDRS ?? 8)
const tokens = createTokenService({ secret: process.env.BENCH_JWT_SECRET ?? '', ttlSeconds: 3600 })
const sockets: WebSocket[] = []
let failed = 0
for (let i = 0; i < total; i += 200) {
  await Promise.all(
    Array.from({ length: Math.min(200, total - i) }, async (_, k) => {
      const { token } = await tokens.issueGuest()
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}?token=${token}`, {
        perMessageDeflate: false,
        localAddress: `127.0.0.${firstAddr + ((i + k) % addrs)}`,
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
process.send!({ open: sockets.length - failed, failed })
setInterval(() => {}, 60_000)
