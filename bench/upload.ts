/**
 * Upload throughput: a 50 MB file through `PUT upload_url` (the real app, listening on a real
 * port) against a bare Node `pipeline(req, fs.createWriteStream)` server, in the same run and
 * the same process, with the same client. Reports MB/s (median of the runs) and peak RSS growth
 * during the app's uploads. `npm run bench:upload` (RUNS=3, SIZE_MB=50 to change).
 */
import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

const SIZE_MB = Number(process.env.SIZE_MB ?? 50)
const RUNS = Number(process.env.RUNS ?? 3)
const ADMIN_KEY = `ovs_bench_${randomBytes(12).toString('hex')}`

function put(url: string, file: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'PUT',
        headers: { 'content-type': 'video/mp4', 'content-length': size },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(req)
  })
}

async function timed(run: () => Promise<number>) {
  const rssBefore = process.memoryUsage().rss
  let peak = rssBefore
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 10)
  const started = performance.now()
  const status = await run()
  const seconds = (performance.now() - started) / 1000
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage().rss)
  if (status !== 200) throw new Error(`upload answered ${status}`)
  return { mbps: SIZE_MB / seconds, rssGrowthMb: (peak - rssBefore) / 1024 / 1024 }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-bench-upload-'))
  const file = join(dir, 'payload.mp4')
  const size = SIZE_MB * 1024 * 1024
  // An MP4 `ftyp` box, so magic-byte sniffing agrees with the declared video/mp4.
  const header = Buffer.from('00000018667479706973736f6d0000020069736f6d69736f32', 'hex')
  writeFileSync(file, Buffer.concat([header, randomBytes(size - header.length)]))

  const bare = createServer((req, res) => {
    pipeline(req, createWriteStream(join(dir, `bare-${Date.now()}`))).then(
      () => res.end('ok'),
      () => res.destroy(),
    )
  })
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r))
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/upload`

  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', OVASABI_ADMIN_KEY: ADMIN_KEY })
  const app = await buildApp(config, { memoryDatabase: true, logger: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const slug = `bench_${Date.now().toString(36)}`
  await app.inject({
    method: 'POST',
    url: '/api/campaign',
    headers: { 'x-api-key': ADMIN_KEY },
    payload: { slug, title: 'bench', metadata: { features: ['media'] } },
  })
  const token = JSON.parse((await app.inject({ method: 'POST', url: '/api/session' })).body).token

  const results = {
    bare: [] as number[],
    app: [] as number[],
    appRss: [] as number[],
    bareRss: [] as number[],
  }
  // Warm both paths once (JIT, first file creation), then alternate.
  await put(bareUrl, file, size)
  for (let i = 0; i <= RUNS; i++) {
    const ticket = JSON.parse(
      (
        await app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers: { authorization: `Bearer ${token}` },
          payload: {
            action: 'upload_media',
            data: { filename: 'bench.mp4', content_type: 'video/mp4', size },
          },
        })
      ).body,
    ).result
    const a = await timed(() => put(base + ticket.upload_url, file, size))
    const b = await timed(() => put(bareUrl, file, size))
    if (i === 0) continue
    results.app.push(a.mbps)
    results.appRss.push(a.rssGrowthMb)
    results.bare.push(b.mbps)
    results.bareRss.push(b.rssGrowthMb)
  }
  const appMbps = median(results.app)
  const bareMbps = median(results.bare)
  console.log(`Upload of ${SIZE_MB} MB, ${RUNS} runs each (median), client and servers in one process`)
  console.log(`  bare pipeline(req, fs.createWriteStream): ${bareMbps.toFixed(0)} MB/s`)
  console.log(`  PUT upload_url (Ovasabi):                 ${appMbps.toFixed(0)} MB/s`)
  console.log(`  ratio: ${(appMbps / bareMbps).toFixed(2)}x (target >= 0.8x)`)
  console.log(
    `  peak RSS growth during app uploads: ${Math.max(...results.appRss).toFixed(1)} MB (target < 50 MB)`,
  )
  console.log(`  peak RSS growth during bare uploads: ${Math.max(...results.bareRss).toFixed(1)} MB`)
  await app.close()
  await new Promise<void>((r) => bare.close(() => r()))
  rmSync(dir, { recursive: true, force: true })
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
