// `npm run bench`: the action endpoint against its peers, in one run (issue 2, Performance).
//   (a) our `POST /api/{campaign}/update` (auth, validation, idempotency, group commit) on
//       PostgreSQL, and again on PGlite;
//   (b) a bare Fastify route returning a constant (the ceiling);
//   (c) a bare Fastify route doing one `pg` INSERT per request (what a user would write by hand).
// Options: --only=a,b,c,pglite  --json=FILE  --profile=DIR (CPU profiles of our server, see bench/README.md)  (BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_ROUNDS, DATABASE_URL)
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  DEFAULT_CONNECTIONS,
  DEFAULT_DURATION,
  DEFAULT_WARMUP,
  type FreshDatabase,
  freshDatabase,
  type LoadResult,
  machineLoad,
  machineSummary,
  markdownTable,
  median,
  requestJson,
  runLoad,
  sampleSteal,
  type SpawnedServer,
  spawnServer,
} from './lib/index.js'
import { countPgliteEvents } from './lib/pglite.js'

const { values: args } = parseArgs({
  options: { only: { type: 'string' }, json: { type: 'string' }, profile: { type: 'string' } },
})
const only = new Set((args.only ?? 'b,c,a,pglite').split(',').map((s) => s.trim()))

const CAMPAIGN = 'bench'
const SESSIONS = 20
const NAMES = {
  b: '(b) Fastify, constant',
  c: '(c) Fastify + pg INSERT',
  a: '(a) Ovasabi, PostgreSQL',
  pglite: '(a) Ovasabi, PGlite',
} as const
const NOTES: Record<string, string> = {
  [NAMES.b]: 'parse JSON body, return a constant',
  [NAMES.c]: 'body schema, one INSERT per request, pool 10',
  [NAMES.a]: 'JWT, validation, idempotency, event + counters + session, group commit',
  [NAMES.pglite]: 'same as above on embedded PGlite',
}

const runId = randomBytes(4).toString('hex')

/** `--profile=DIR`: every server writes a V8 CPU profile there when it stops. */
const profileArgs = () => (args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [])

/** The same analytics event for every scenario; request_id is unique per request. */
function eventBody(seq: number): string {
  return JSON.stringify({
    action: 'bench.click',
    request_id: `${runId}-${seq}`,
    data: { page: '/pricing', element: 'cta-primary', position: seq % 7 },
    metadata: { source: 'bench', tags: ['pricing', 'cta'] },
  })
}

/** Errors or non-2xx mean the figures are not what they claim: show why. */
function reportTrouble(result: LoadResult, server: SpawnedServer) {
  if (result.errors + result.timeouts + result.non2xx === 0) return
  console.error(
    `\n${result.name}: ${result.errors} errors, ${result.timeouts} timeouts, statuses ${JSON.stringify(result.statusCodes)}. Server output:\n${server.output().split('\n').slice(-30).join('\n')}\n`,
  )
}

async function measurePeer(name: string, file: string, env: Record<string, string>, path: string) {
  const server = await spawnServer({ name, args: [...profileArgs(), '--import', 'tsx', file], env })
  try {
    const result = await runLoad({
      name,
      url: server.url,
      path,
      pid: server.pid,
      sampleCommands: ['postgres'],
      request: (seq) => ({ body: eventBody(seq) }),
    })
    await server.stop()
    reportTrouble(result, server)
    return result
  } finally {
    await server.stop()
  }
}

/** Start Ovasabi as `node bin/ovasabi.js serve`, create the campaign and guest sessions, load it. */
async function measureOvasabi(name: string, databaseUrl: string | undefined, campaign = CAMPAIGN) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ovasabi-bench-'))
  const adminKey = `ovs_bench_${randomBytes(16).toString('hex')}`
  let server: SpawnedServer | undefined
  try {
    server = await spawnServer({
      name,
      args: [...profileArgs(), 'bin/ovasabi.js', 'serve'],
      env: {
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
        REDIS_URL: undefined,
        JWT_SECRET: randomBytes(48).toString('base64url'),
        OVASABI_ADMIN_KEY: adminKey,
        RATE_LIMIT_PER_MINUTE: '1000000000',
        LOG_LEVEL: 'warn',
        ENVIRONMENT: 'bench',
      },
    })
    await requestJson(`${server.url}/api/campaign`, {
      headers: { 'x-api-key': adminKey },
      body: { slug: campaign, title: 'Bench', metadata: { features: ['analytics'] } },
      expect: [201],
    })
    const tokens: string[] = []
    for (let i = 0; i < SESSIONS; i++) {
      const session = await requestJson<{ token: string }>(`${server.url}/api/session`, {
        method: 'POST',
        expect: [201],
      })
      tokens.push(`Bearer ${session.token}`)
    }
    const result = await runLoad({
      name,
      url: server.url,
      path: `/api/${campaign}/update`,
      pid: server.pid,
      sampleCommands: ['postgres'],
      request: (seq) => ({ body: eventBody(seq), headers: { authorization: tokens[seq % tokens.length]! } }),
    })
    await server.stop()
    reportTrouble(result, server)
    return { result, dataDir }
  } catch (err) {
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
}

/** Every acknowledged event must be in the table (more rows is fine: the last in-flight ones). */
function checkRows(result: LoadResult, rows: number, counted?: number): string {
  const lost = result.okIncludingWarmup - rows
  const counters = counted === undefined ? '' : `, events_total counter ${counted}`
  const verdict = lost > 0 ? `LOST ${lost} acknowledged events` : 'none lost'
  return `${result.name}: ${result.okIncludingWarmup} acknowledged, ${rows} rows${counters} → ${verdict}`
}

/**
 * Each PostgreSQL scenario starts from a clean server: the previous scenario's dirty pages
 * written out and its table vacuumed, so (a) does not pay for the checkpoint and autovacuum of
 * (c)'s 100k rows (they cost the scenario after it up to 20 % in early runs).
 */
async function settle(db: FreshDatabase) {
  await db.query('vacuum analyze')
  await db.query('checkpoint')
}

/** (c) then (a) this many times, interleaved, so drift in a noisy host's speed hits both alike. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))

async function main() {
  const loadBefore = machineLoad()
  const steal = sampleSteal()
  const results: LoadResult[] = []
  const rounds: Array<{ c?: LoadResult; a?: LoadResult }> = []
  const checks: string[] = []
  let db: FreshDatabase | undefined
  const needsPg = only.has('c') || only.has('a')
  const count = async (sql: string, params: unknown[] = []) =>
    (await db!.query<{ n: number }>(sql, params))[0]!.n
  try {
    if (needsPg) db = await freshDatabase()
    if (only.has('b')) {
      results.push(await measurePeer(NAMES.b, 'bench/peers/constant.ts', {}, '/track'))
    }
    for (let round = 1; needsPg && round <= ROUNDS; round++) {
      const suffix = ROUNDS > 1 ? `, round ${round}` : ''
      const pair: { c?: LoadResult; a?: LoadResult } = {}
      if (only.has('c')) {
        await settle(db!)
        const table = round === 1 ? 0 : await count('select count(*)::int as n from peer_analytics_event')
        const r = await measurePeer(
          `${NAMES.c}${suffix}`,
          'bench/peers/pg-insert.ts',
          { DATABASE_URL: db!.url },
          `/api/${CAMPAIGN}/track`,
        )
        pair.c = r
        results.push(r)
        const rows = (await count('select count(*)::int as n from peer_analytics_event')) - table
        checks.push(checkRows(r, rows))
      }
      if (only.has('a')) {
        await settle(db!)
        const campaign = `${CAMPAIGN}${round}`
        const { result, dataDir } = await measureOvasabi(`${NAMES.a}${suffix}`, db!.url, campaign)
        rmSync(dataDir, { recursive: true, force: true })
        pair.a = result
        results.push(result)
        const rows = await count(
          'select count(*)::int as n from service_analytics_event where campaign_slug = $1',
          [campaign],
        )
        const counted = await count(
          `select coalesce(sum(count), 0)::int as n from service_campaign_counter where campaign_slug = $1 and name = 'events_total'`,
          [campaign],
        )
        checks.push(checkRows(result, rows, counted))
      }
      rounds.push(pair)
    }
    if (only.has('pglite')) {
      const { result, dataDir } = await measureOvasabi(NAMES.pglite, undefined)
      results.push(result)
      try {
        const counts = await countPgliteEvents(join(dataDir, 'pglite'), CAMPAIGN)
        checks.push(checkRows(result, counts.rows, counts.eventsTotal))
      } finally {
        rmSync(dataDir, { recursive: true, force: true })
      }
    }
  } finally {
    await db?.drop()
  }

  // With several rounds, each (a) is compared with the (c) of its own round, below the table.
  const table = markdownTable(results, {
    baseline: ROUNDS === 1 ? rounds[0]?.c?.name : undefined,
    notes: NOTES,
  })
  const lines = [
    `## Foundation: action endpoint (${DEFAULT_CONNECTIONS} connections, ${DEFAULT_WARMUP} s warm-up, ${DEFAULT_DURATION} s measured${ROUNDS > 1 ? `, (c) and (a) interleaved ${ROUNDS} times` : ''})`,
    '',
    machineSummary(loadBefore, steal.stop()),
    '',
    table,
    '',
  ]
  const paired = rounds.filter((r): r is { c: LoadResult; a: LoadResult } => !!r.a && !!r.c)
  if (paired.length > 0) {
    const rps = paired.map((r) => r.a.rps / r.c.rps)
    const p99 = paired.map((r) => r.a.p99 / r.c.p99)
    const each = paired.map((_, i) => `${rps[i]!.toFixed(2)}× / ${p99[i]!.toFixed(2)}×`).join(', ')
    const rpsMedian = median(rps)
    const p99Median = median(p99)
    lines.push(
      `(a) ÷ (c) per round, req/s / p99: ${each}.`,
      '',
      `Target (a) ≥ 1.0× (c) req/s: ${rpsMedian >= 1 ? 'MET' : 'MISSED'} (median ${rpsMedian.toFixed(2)}×); ` +
        `(a) p99 ≤ 2× (c) p99: ${p99Median <= 2 ? 'MET' : 'MISSED'} (median ${p99Median.toFixed(2)}×)`,
      '',
    )
  }
  if (checks.length > 0) lines.push('Durability check (rows written vs 2xx received, warm-up included):', '')
  for (const check of checks) lines.push(`- ${check}`)
  console.log(lines.join('\n'))
  if (args.json) {
    writeFileSync(
      args.json,
      JSON.stringify({ loadBefore, loadAfter: machineLoad(), results, checks }, null, 2),
    )
  }
  if (checks.some((c) => c.includes('LOST'))) process.exitCode = 1
}

await main()
