import assert from 'node:assert/strict'
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { DatabaseUnavailableError } from '../src/platform/db/database.js'
import { buildTestApp, freshPostgres, guestToken, json, type TestContext } from './helper.js'

/**
 * A TCP proxy in front of PostgreSQL that the test cuts (every connection dropped, new ones
 * refused) and opens again on the same port, as a database restart or a network cut looks.
 */
async function databaseProxy(target: string) {
  const upstream = new URL(target)
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const up = connect(Number(upstream.port || 5432), upstream.hostname)
        for (const s of [client, up]) {
          sockets.add(s)
          s.on('error', () => {})
          s.on('close', () => sockets.delete(s))
        }
        client.pipe(up)
        up.pipe(client)
      })
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port
        resolve()
      })
    })
  await open()
  const url = new URL(target)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  return {
    url: url.toString(),
    open,
    async cut() {
      if (!server?.listening) return
      const closed = new Promise((resolve) => server!.close(resolve))
      for (const s of sockets) s.destroy()
      await closed
    },
  }
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('PostgreSQL going away and coming back while serving', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  let t: TestContext
  let proxy: Awaited<ReturnType<typeof databaseProxy>>
  let drop: () => Promise<void>
  before(async () => {
    const fresh = await freshPostgres()
    drop = fresh.drop
    proxy = await databaseProxy(fresh.url)
    t = await buildTestApp({ databaseUrl: proxy.url })
  })
  after(async () => {
    await t.close()
    await proxy.cut()
    await drop()
  })

  const ready = async () => (await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode

  it('keeps the process up, answers 503 DATABASE_UNAVAILABLE, and serves again once it is back', async () => {
    const { token } = await guestToken(t.app)
    const act = (request_id: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/ovasabi_website/update',
        headers: { authorization: `Bearer ${token}` },
        payload: { action: 'content.create', data: { n: 1 }, request_id },
      })
    assert.equal((await act('before')).statusCode, 200)

    // A transaction holds a connection between two statements when the database goes away: the
    // connection's loss must fail that transaction, not end the process.
    await assert.rejects(
      t.app.platform.database.db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx)
        await proxy.cut()
        await until(async () => (await ready()) === 503, 'readiness to see the database down')
        await sql`select 1`.execute(trx)
      }),
      (err: unknown) => err instanceof DatabaseUnavailableError,
    )

    const down = await act('while-down')
    assert.equal(down.statusCode, 503, down.body)
    assert.equal(json(down).error.code, 'DATABASE_UNAVAILABLE')
    assert.equal(down.headers['retry-after'], '5')
    assert.ok(!down.body.includes('127.0.0.1'), down.body)
    const health = json(await t.app.inject({ method: 'GET', url: '/health/ready' }))
    assert.equal(health.dependencies.database.status, 'down')

    await proxy.open()
    await until(async () => (await ready()) === 200, 'readiness to see the database back')
    const back = await act('while-down')
    assert.equal(back.statusCode, 200, back.body)
    assert.equal(back.headers['idempotent-replayed'], undefined, 'the refused request had run nothing')
  })
})
