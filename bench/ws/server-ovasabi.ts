// Ovasabi itself (embedded database; memory bus, or Redis when REDIS_URL is set), with one campaign
// at the benchmark's tick rate. SIGTERM closes the app (sockets get 1012, the node leaves Redis).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'

const key = 'ovs_bench_admin_key_0123456789abcdef'
const config = loadConfig({
  ...process.env,
  DATA_DIR: mkdtempSync(join(tmpdir(), 'ovasabi-bench-')),
  LOG_LEVEL: 'silent',
  OVASABI_ADMIN_KEY: key,
  // The load generator opens thousands of sockets from one address, some with one token.
  WS_MAX_SOCKETS_PER_IP: '0',
  WS_MAX_SOCKETS_PER_SESSION: '0',
})
const app = await buildApp(config, { memoryDatabase: true, logger: false })
await app.listen({ port: 0, host: '127.0.0.1' })
const res = await app.inject({
  method: 'POST',
  url: '/api/campaign',
  headers: { 'x-api-key': key },
  payload: {
    slug: process.env.BENCH_CAMPAIGN ?? 'bench',
    title: 'bench',
    metadata: {
      features: ['presence'],
      scheduling: { frequency: Number(process.env.BENCH_HZ ?? 10) },
      custom_rules: { max_cursors: Number(process.env.BENCH_CAP ?? 100) },
    },
  },
})
if (res.statusCode !== 201) throw new Error(res.body)
const addr = app.server.address()
process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`)
// SIGUSR2 (idle bench, with --expose-gc): collect garbage so RSS before and after compare live memory.
process.on('SIGUSR2', () => {
  const { gc } = globalThis as { gc?: () => void }
  gc?.()
  gc?.()
})
process.once('SIGTERM', () => {
  void app.close().finally(() => process.exit(0))
})
