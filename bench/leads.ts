/**
 * Issue 4 performance: durable lead submissions/s on PostgreSQL (lead row + webhook outbox row +
 * analytics event + idempotency record, one commit) against a bare Fastify route doing one `pg`
 * INSERT per request. Same run, same database server, autocannon with 50 connections. Each server
 * runs in its own child process so the load generator does not share its event loop.
 *
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test npm run bench:leads
 *   (BENCH_SECONDS=15 BENCH_CONNECTIONS=50 BENCH_ROUNDS=3 to change the load; the verdict is the
 *   median of the rounds' ratios, each Ovasabi run against the bare run just before it;
 *   BENCH_WEBHOOK=0 leaves out the CRM endpoint, so no outbox rows and no deliveries: a diagnostic
 *   of what the webhooks cost, not the issue's figure)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { sampleCommandCpu, sampleProcess, sampleSelfCpu, sampleSteal, sampleSyscalls } from './lib/proc.js'
import { median } from './lib/report.js'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<any>

const BASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test'
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const POOL = 10
const ADMIN_KEY = `ovs_bench_admin_${randomBytes(12).toString('hex')}`

async function serveOvasabi(databaseUrl: string) {
  // The compiled server (`npm run bench:leads` builds it first), as `npm start` runs it.
  const dist = '../dist'
  const { loadConfig } = await import(`${dist}/config.js`)
  const { buildApp } = await import(`${dist}/app.js`)
  const { mkdtempSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const config = loadConfig({
    DATA_DIR: mkdtempSync(join(tmpdir(), 'ovasabi-bench-')),
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: String(POOL),
    LOG_LEVEL: 'silent',
    OVASABI_ADMIN_KEY: ADMIN_KEY,
    RATE_LIMIT_PER_MINUTE: '100000000',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // Server settings to compare (e.g. COMMIT_CONCURRENCY=4 npm run bench:leads).
    ...Object.fromEntries(
      ['COMMIT_CONCURRENCY', 'WEBHOOK_POLL_MS'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
    ),
  })
  const app = await buildApp(config, { logger: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

async function serveBare(databaseUrl: string) {
  const { default: Fastify } = await import('fastify')
  const pool = new pg.Pool({ connectionString: databaseUrl, max: POOL })
  await pool.query(
    'create table if not exists bench_bare_lead (id bigserial primary key, name text not null, email text not null, payload jsonb not null, created_at timestamptz not null default now())',
  )
  const app = Fastify({ logger: false })
  app.post('/bare', async (request, reply) => {
    const body = request.body as { name: string; email: string }
    const { rows } = await pool.query(
      'insert into bench_bare_lead (name, email, payload) values ($1, $2, $3) returning id',
      [body.name, body.email, JSON.stringify(body)],
    )
    return reply.status(201).send({ id: rows[0].id })
  })
  app.addHook('onClose', () => pool.end())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

/**
 * BENCH_QUERIES=1: count the statements each server sends to PostgreSQL, printed at exit, so a
 * change's effect on round trips per request is visible next to its effect on throughput.
 */
function countQueries() {
  const counts = new Map<string, { n: number; bytes: number }>()
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '?')
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 90)
    const values = (Array.isArray(args[1]) ? args[1] : (args[0] as { values?: unknown[] })?.values) ?? []
    const size = text.length + values.reduce<number>((n, v) => n + (v == null ? 0 : String(v).length), 0)
    const c = counts.get(key) ?? { n: 0, bytes: 0 }
    c.n++
    c.bytes += size
    counts.set(key, c)
    return query.apply(this, args)
  } as typeof pg.Client.prototype.query
  return () =>
    [...counts]
      .sort((a, b) => b[1].n - a[1].n)
      .slice(0, 25)
      .map(([k, c]) => `${String(c.n).padStart(8)} ${String(Math.round(c.bytes / c.n)).padStart(7)} B  ${k}`)
      .join('\n')
}

/** Child mode: serve, print the port, stay until killed. */
async function child(mode: string, databaseUrl: string) {
  const report = process.env.BENCH_QUERIES ? countQueries() : undefined
  const app = mode === 'ovasabi' ? await serveOvasabi(databaseUrl) : await serveBare(databaseUrl)
  process.stdout.write(`READY ${(app.server.address() as AddressInfo).port} ${ADMIN_KEY}\n`)
  process.on('SIGTERM', () => {
    if (report)
      process.stderr.write(
        `statements sent by ${mode} (count, mean size of text and parameters):\n${report()}\n`,
      )
    void app.close().then(() => process.exit(0))
  })
}

function start(
  mode: string,
  databaseUrl: string,
): Promise<{ proc: ChildProcess; port: number; adminKey: string }> {
  // BENCH_PROFILE=DIR: CPU profile of each server (read with bench/profile.ts).
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : []
  const args = [...profile, '--import', 'tsx', fileURLToPath(import.meta.url), '--serve', mode]
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, BENCH_CHILD_DB: databaseUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    proc.stdout!.on('data', (c) => {
      out += c
      const m = /READY (\d+) (\S+)/.exec(out)
      if (m) resolve({ proc, port: Number(m[1]), adminKey: m[2]! })
    })
    proc.on('exit', (code) => reject(new Error(`${mode} server exited (${code})`)))
  })
}

async function stop(proc: ChildProcess) {
  await new Promise<void>((r) => {
    proc.removeAllListeners('exit')
    proc.once('exit', () => r())
    proc.kill('SIGTERM')
  })
}

async function api(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const json = (await res.json()) as any
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

function load(port: number, path: string, headers: Record<string, string>, extra: Record<string, unknown>) {
  let n = 0
  const tag = randomBytes(3).toString('hex')
  const run = (duration: number) =>
    autocannon({
      url: `http://127.0.0.1:${port}`,
      connections: CONNECTIONS,
      duration,
      requests: [
        {
          method: 'POST',
          path,
          headers: { ...headers, 'content-type': 'application/json' },
          setupRequest: (req: Record<string, unknown>) => ({
            ...req,
            body: JSON.stringify({
              ...extra,
              name: 'Bench Lead',
              email: `lead${tag}_${n++}@example.com`,
              company: 'Bench Ltd',
              message: 'Load test submission',
              consent: true,
            }),
          }),
        },
      ],
    })
  return run
}

/**
 * CPU per request of each process taking part, in ms: where the machine's two cores went. The
 * server, every PostgreSQL backend, and this process (the load generator and webhook receiver).
 */
async function measured<T extends { requests: { average: number; total: number } }>(
  pid: number,
  db: pg.Client,
  run: () => Promise<T>,
) {
  const wal = await walStats(db)
  const server = sampleProcess(pid)
  const steal = sampleSteal()
  const postgres = sampleCommandCpu('postgres')
  const self = sampleSelfCpu()
  const serverCalls = sampleSyscalls(pid)
  const postgresCalls = sampleSyscalls('postgres')
  const result = await run()
  const serverIo = serverCalls.stop()
  const postgresIo = postgresCalls.stop()
  const perRequest = (percent: number) =>
    Number((((percent / 100) * 1000) / Math.max(1, result.requests.average)).toFixed(3))
  const cpu = {
    server_ms_per_request: perRequest(server.stop().cpuPercent),
    postgres_ms_per_request: perRequest(postgres.stop()),
    loadgen_ms_per_request: perRequest(self.stop()),
    hypervisor_steal_percent: Number(steal.stop().toFixed(1)),
  }
  const walAfter = await walStats(db)
  const per = (n: number) => Number((n / Math.max(1, result.requests.total)).toFixed(2))
  const wal_per_request = {
    records: per(walAfter.records - wal.records),
    bytes: Math.round(per(walAfter.bytes - wal.bytes)),
    full_page_images: per(walAfter.fpi - wal.fpi),
  }
  // Syscalls per request (reads and writes, sockets included): the server and PostgreSQL's backends.
  const syscalls_per_request = {
    server_reads: per(serverIo.reads),
    server_writes: per(serverIo.writes),
    postgres_reads: per(postgresIo.reads),
    postgres_writes: per(postgresIo.writes),
  }
  return { result, cpu, wal_per_request, syscalls_per_request }
}

/**
 * The cluster's WAL counters (`pg_stat_wal`): what a request cost in records, bytes and full-page
 * images after the checkpoint each scenario starts from. Cluster-wide, so only meaningful on a
 * server nothing else writes to during the run.
 */
async function walStats(db: pg.Client) {
  const { rows } = await db.query(
    'select wal_records::float8 as records, wal_bytes::float8 as bytes, wal_fpi::float8 as fpi from pg_stat_wal',
  )
  return rows[0] as { records: number; bytes: number; fpi: number }
}

function summary(r: any) {
  return {
    requests_per_s: Math.round(r.requests.average),
    ok: r['2xx'],
    non_2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
  }
}

/** Bare then Ovasabi this many times, interleaved, so drift in a noisy host's speed hits both alike. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))

async function main() {
  const admin = new pg.Client({ connectionString: BASE_URL })
  await admin.connect()
  const name = `ovasabi_bench_leads_${Date.now().toString(36)}`
  await admin.query(`create database ${name}`)
  const url = new URL(BASE_URL)
  url.pathname = `/${name}`
  const databaseUrl = url.toString()
  const receiver = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(204).end())
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  let delivered = 0
  receiver.on('request', () => delivered++)
  const db = new pg.Client({ connectionString: databaseUrl })
  // Each scenario starts with the previous one's rows written out and vacuumed, so neither pays
  // for the other's checkpoint and autovacuum.
  const settle = async () => {
    await db.query('vacuum analyze')
    await db.query('checkpoint')
  }

  try {
    await db.connect()
    const rounds: Array<Record<string, unknown>> = []
    for (let round = 1; round <= ROUNDS; round++) {
      // Bare baseline.
      await settle()
      const bare = await start('bare', databaseUrl)
      const bareRun = load(bare.port, '/bare', {}, {})
      await bareRun(3)
      const bareMeasured = await measured(bare.proc.pid!, db, () => bareRun(SECONDS))
      const bareResult = {
        ...summary(bareMeasured.result),
        cpu: bareMeasured.cpu,
        wal_per_request: bareMeasured.wal_per_request,
        syscalls_per_request: bareMeasured.syscalls_per_request,
      }
      await stop(bare.proc)

      // Ovasabi: campaign with a CRM webhook (so every lead writes an outbox row), a guest session.
      await settle()
      const ovs = await start('ovasabi', databaseUrl)
      const adminHeaders = { 'x-api-key': ovs.adminKey }
      const slug = `bench_${Date.now().toString(36)}`
      await api(ovs.port, 'POST', '/api/campaign', adminHeaders, {
        slug,
        title: 'Leads bench',
        metadata: { features: ['quote', 'analytics'], custom_rules: { quote_rate_limit: { max: 1e9 } } },
      })
      if (process.env.BENCH_WEBHOOK !== '0')
        await api(ovs.port, 'POST', `/api/campaign/${slug}/webhooks`, adminHeaders, {
          url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/crm`,
          events: ['lead.created'],
        })
      const { token } = await api(ovs.port, 'POST', '/api/session', {})
      const ovsRun = load(ovs.port, '/api/quote', { authorization: `Bearer ${token}` }, { campaign: slug })
      const deliveredAtStart = delivered
      const warmup = summary(await ovsRun(3))
      const count = async (table: string, extra = '') =>
        Number(
          (await db.query(`select count(*) n from ${table} where campaign_slug = $1 ${extra}`, [slug]))
            .rows[0].n,
        )
      const tables = ['service_quote_main', 'service_notification_outbox', 'service_analytics_event']
      // One after another: the client runs one query at a time.
      const countAll = async () => {
        const n: number[] = []
        for (const t of tables) n.push(await count(t))
        return n
      }
      const before = await countAll()
      const deliveredBefore = delivered
      const ovsMeasured = await measured(ovs.proc.pid!, db, () => ovsRun(SECONDS))
      const ovsResult = {
        ...summary(ovsMeasured.result),
        cpu: ovsMeasured.cpu,
        wal_per_request: ovsMeasured.wal_per_request,
        syscalls_per_request: ovsMeasured.syscalls_per_request,
      }
      const after = await countAll()
      // Every acknowledged lead's webhook goes out: wait for the outbox to drain.
      const deadline = Date.now() + 60_000
      let undelivered = Number.NaN
      while (Date.now() < deadline) {
        undelivered = await count('service_notification_outbox', "and status in ('pending','sending')")
        if (undelivered === 0) break
        await new Promise((r) => setTimeout(r, 500))
      }
      // The windows above cut through requests in flight (the load generator stops on the clock), so
      // durability is checked on the campaign's totals: every acknowledged lead stored, each with
      // its outbox row and analytics event, each outbox row's webhook received.
      const totals = await countAll()
      const durable = {
        acknowledged: warmup.ok + ovsResult.ok,
        leads: totals[0]!,
        outbox: totals[1]!,
        events: totals[2]!,
        webhooks_received: delivered - deliveredAtStart,
      }
      const webhooks = process.env.BENCH_WEBHOOK !== '0'
      const intact =
        durable.leads >= durable.acknowledged &&
        durable.events === durable.leads &&
        (!webhooks || (durable.outbox === durable.leads && durable.webhooks_received >= durable.outbox))
      if (!intact) console.error(`round ${round}: DURABILITY CHECK FAILED ${JSON.stringify(durable)}`)
      await stop(ovs.proc)

      const ratio = ovsResult.requests_per_s / bareResult.requests_per_s
      const p99x = ovsResult.p99_ms / Math.max(1, bareResult.p99_ms)
      // What a request costs the whole machine (server, PostgreSQL, load generator and receiver):
      // less disturbed by a noisy host than req/s, and what bounds req/s once the cores are full.
      const machine = (c: typeof bareResult.cpu) =>
        c.server_ms_per_request + c.postgres_ms_per_request + c.loadgen_ms_per_request
      const r = {
        round,
        bare: bareResult,
        ovasabi: ovsResult,
        durable_rows_written_during_run: {
          leads: after[0]! - before[0]!,
          outbox: after[1]! - before[1]!,
          events: after[2]! - before[2]!,
        },
        webhook_deliveries_received_during_run: delivered - deliveredBefore,
        campaign_totals_after_drain: { ...durable, intact },
        outbox_undelivered_after_drain: undelivered,
        throughput_ratio: Number(ratio.toFixed(2)),
        p99_ratio: Number(p99x.toFixed(2)),
        machine_cpu_ms_per_request: {
          bare: Number(machine(bareResult.cpu).toFixed(3)),
          ovasabi: Number(machine(ovsResult.cpu).toFixed(3)),
        },
        machine_cpu_ratio: Number((machine(ovsResult.cpu) / machine(bareResult.cpu)).toFixed(2)),
      }
      console.error(
        `round ${round}: bare ${bareResult.requests_per_s} req/s p99 ${bareResult.p99_ms} ms; ` +
          `ovasabi ${ovsResult.requests_per_s} req/s p99 ${ovsResult.p99_ms} ms; ` +
          `${r.throughput_ratio}x req/s, ${r.p99_ratio}x p99, ${r.machine_cpu_ratio}x machine CPU per request`,
      )
      rounds.push(r)
    }

    const ratio = median(rounds.map((r) => r.throughput_ratio as number))
    const p99x = median(rounds.map((r) => r.p99_ratio as number))
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      connections: CONNECTIONS,
      seconds: SECONDS,
      pool: POOL,
      rounds,
      median_throughput_ratio: ratio,
      median_p99_ratio: p99x,
      median_machine_cpu_ratio: median(rounds.map((r) => r.machine_cpu_ratio as number)),
      target: 'throughput ratio >= 0.8 and p99 ratio <= 2 (medians over the rounds)',
      durability_intact: rounds.every((r) => (r.campaign_totals_after_drain as { intact: boolean }).intact),
      target_met: ratio >= 0.8 && p99x <= 2,
    }
    console.log(JSON.stringify(report, null, 2))
  } finally {
    receiver.close()
    await db.end().catch(() => {})
    // BENCH_KEEP_DB=1 leaves the database for EXPLAIN ANALYZE of the statements a run sent.
    if (process.env.BENCH_KEEP_DB) console.error(`kept database ${name}`)
    else await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

const serveAt = process.argv.indexOf('--serve')
if (serveAt >= 0) await child(process.argv[serveAt + 1]!, process.env.BENCH_CHILD_DB!)
else await main()
