/**
 * Issue 4 diagnostic: what PostgreSQL writes for one lead, by relation and record type. Submits
 * BENCH_LEADS leads (default 2,000) to a fresh database through the compiled server with one CRM
 * webhook (as `bench:leads` does), waits for the outbox to drain, then reads the WAL written in
 * between with `pg_walinspect` (PostgreSQL 15+, a superuser): records and bytes per lead for each
 * table and index, and for each resource manager and record type. Counts, not times, so it holds
 * on a noisy host.
 *
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test npm run bench:leads-wal
 *   (BENCH_LEADS=5000 for more; BENCH_SETUP_SQL='alter table … set (fillfactor = 70)' to try a
 *   schema change on the fresh database first)
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

const BASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test'
const LEADS = Number(process.env.BENCH_LEADS ?? 2000)
const CONCURRENCY = 20
const ADMIN_KEY = `ovs_bench_admin_${randomBytes(12).toString('hex')}`

async function main() {
  const admin = new pg.Client({ connectionString: BASE_URL })
  await admin.connect()
  const name = `ovasabi_bench_wal_${Date.now().toString(36)}`
  await admin.query(`create database ${name}`)
  const url = new URL(BASE_URL)
  url.pathname = `/${name}`
  const db = new pg.Client({ connectionString: url.toString() })
  const receiver = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(204).end())
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  // The compiled server (`npm run bench:leads-wal` builds it first), as `npm start` runs it.
  const dist = '../dist'
  const { loadConfig } = await import(`${dist}/config.js`)
  const { buildApp } = await import(`${dist}/app.js`)
  const app = await buildApp(
    loadConfig({
      DATA_DIR: mkdtempSync(join(tmpdir(), 'ovasabi-bench-')),
      DATABASE_URL: url.toString(),
      DATABASE_POOL_SIZE: '10',
      LOG_LEVEL: 'silent',
      OVASABI_ADMIN_KEY: ADMIN_KEY,
      RATE_LIMIT_PER_MINUTE: '100000000',
      WEBHOOK_ALLOW_PRIVATE: 'true',
    }),
    { logger: false },
  )
  try {
    await db.connect()
    await db.query('create extension if not exists pg_walinspect')
    // BENCH_SETUP_SQL: a schema change to try (an index, a storage parameter) before the leads.
    if (process.env.BENCH_SETUP_SQL) await db.query(process.env.BENCH_SETUP_SQL)
    const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
      const res = await app.inject({ method: method as 'POST', url: path, headers, payload: body as object })
      if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`)
      return res.json()
    }
    const adminHeaders = { 'x-api-key': ADMIN_KEY }
    const slug = `wal_${Date.now().toString(36)}`
    await call('POST', '/api/campaign', adminHeaders, {
      slug,
      title: 'WAL probe',
      metadata: { features: ['quote', 'analytics'], custom_rules: { quote_rate_limit: { max: 1e9 } } },
    })
    await call('POST', `/api/campaign/${slug}/webhooks`, adminHeaders, {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/crm`,
      events: ['lead.created'],
    })
    const { token } = await call('POST', '/api/session', {})
    const submit = (n: number) =>
      call(
        'POST',
        '/api/quote',
        { authorization: `Bearer ${token}` },
        {
          campaign: slug,
          name: 'Bench Lead',
          email: `lead_${n}@example.com`,
          company: 'Bench Ltd',
          message: 'Load test submission',
          consent: true,
        },
      )
    // Warm the caches and the statements, then a settled start.
    for (let n = 0; n < 50; n++) await submit(-n - 1)
    const drained = async () => {
      for (let i = 0; i < 240; i++) {
        const { rows } = await db.query(
          "select count(*)::int n from service_notification_outbox where status in ('pending','sending')",
        )
        if (rows[0].n === 0) return
        await new Promise((r) => setTimeout(r, 250))
      }
      throw new Error('the outbox did not drain')
    }
    await drained()
    await db.query('checkpoint')
    const start = (await db.query('select pg_current_wal_flush_lsn() lsn')).rows[0].lsn
    let next = 0
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < LEADS) await submit(next++)
      }),
    )
    await drained()
    const end = (await db.query('select pg_current_wal_flush_lsn() lsn')).rows[0].lsn
    // Each record's first block names its relation: attributed to that table or index.
    // Each record's first block names its relation: attributed to that table or index. Records of
    // other databases (tests running meanwhile) are left out; those of no relation (commits,
    // checkpoints, …) are the whole cluster's.
    await db.query('create temporary table wal_record (relation text, kind text, bytes int)')
    await db.query(
      `insert into wal_record
       with rec as (
         select resource_manager || ':' || record_type kind, record_length + fpi_length bytes,
                (regexp_match(block_ref, 'rel \\d+/(\\d+)/(\\d+)'))[1]::oid dboid,
                (regexp_match(block_ref, 'rel \\d+/(\\d+)/(\\d+)'))[2]::oid filenode
         from pg_get_wal_records_info($1, $2)
       )
       select coalesce(c.relname, case when rec.filenode is null then '(no relation)' else 'filenode ' || rec.filenode end) relation,
              kind, bytes
       from rec left join pg_class c on c.relfilenode = rec.filenode
       where rec.dboid is null or rec.dboid = (select oid from pg_database where datname = current_database())`,
      [start, end],
    )
    const { rows: byRelation } = await db.query(
      `with kinds as (select relation, kind, count(*) n, sum(bytes) bytes from wal_record group by 1, 2)
       select relation, sum(n)::float8 / $1 records, sum(bytes)::float8 / $1 bytes,
              string_agg(kind || ' ' || round(n::numeric / $1::numeric, 2), ', ' order by n desc) kinds
       from kinds group by 1 order by 2 desc`,
      [LEADS],
    )
    const { rows: byType } = await db.query(
      `select kind, count(*)::float8 / $1 records, sum(bytes)::float8 / $1 bytes
       from wal_record group by 1 order by 2 desc`,
      [LEADS],
    )
    const round = (rows: Array<Record<string, unknown>>) =>
      rows.map((r) => ({
        ...r,
        records: Number((r.records as number).toFixed(2)),
        bytes: Math.round(r.bytes as number),
      }))
    const total = byType.reduce((n, r) => n + r.records, 0)
    const bytes = byType.reduce((n, r) => n + r.bytes, 0)
    console.log(
      JSON.stringify(
        {
          leads: LEADS,
          records_per_lead: Number(total.toFixed(2)),
          bytes_per_lead: Math.round(bytes),
          by_relation: round(byRelation),
          by_record_type: round(byType),
        },
        null,
        2,
      ),
    )
  } finally {
    await app.close()
    receiver.close()
    await db.end().catch(() => {})
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

await main()
