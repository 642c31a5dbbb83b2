import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { ADMIN_KEY, DIALECTS, freshPostgres, uniqueSlug } from './helper.js'
import { type ServerProcess, startServerProcess } from './fixtures/server-process.js'

async function setup(server: ServerProcess) {
  const slug = uniqueSlug('durable')
  const created = await fetch(`${server.url}/api/campaign`, {
    method: 'POST',
    headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ slug, title: 'Durability', metadata: { features: ['analytics'] } }),
  })
  assert.equal(created.status, 201)
  const session = (await (await fetch(`${server.url}/api/session`, { method: 'POST' })).json()) as {
    token: string
  }
  return { slug, token: session.token }
}

async function send(server: ServerProcess, slug: string, token: string, id: string): Promise<boolean> {
  try {
    const res = await fetch(`${server.url}/api/${slug}/update`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'content.create', request_id: id, data: { id } }),
    })
    return res.status === 200
  } catch {
    return false
  }
}

async function stats(server: ServerProcess, slug: string) {
  const res = await fetch(`${server.url}/api/campaign/${slug}/stats`, { headers: { 'x-api-key': ADMIN_KEY } })
  return (await res.json()) as { events_total: number }
}

for (const dialect of DIALECTS) {
  describe(`nothing acknowledged is lost (${dialect})`, () => {
    let drop: (() => Promise<void>) | undefined
    after(async () => {
      await drop?.()
    })

    it('keeps every acknowledged action through kill -9', async () => {
      const env: Record<string, string> = {}
      if (dialect === 'postgres') {
        const db = await freshPostgres()
        drop = db.drop
        env.DATABASE_URL = db.url
      }
      const first = await startServerProcess(env)
      const { slug, token } = await setup(first)
      const acked: string[] = []
      let i = 0
      let killed = false
      const workers = Array.from({ length: 20 }, async () => {
        while (!killed) {
          const id = `k-${i++}`
          if (await send(first, slug, token, id)) acked.push(id)
        }
      })
      while (acked.length < 300) await new Promise((r) => setTimeout(r, 10))
      first.child.kill('SIGKILL')
      killed = true
      await first.exited
      await Promise.all(workers)
      assert.ok(acked.length >= 300)

      const second = await startServerProcess(env.DATABASE_URL ? env : { DATA_DIR: first.dataDir })
      try {
        for (const id of acked) {
          // a repeat of an acknowledged request must replay, never run again
          const res = await fetch(`${second.url}/api/${slug}/update`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ action: 'content.create', request_id: id, data: { id } }),
          })
          assert.equal(res.headers.get('idempotent-replayed'), 'true', `acknowledged ${id} was lost`)
        }
        const { events_total } = await stats(second, slug)
        assert.ok(events_total >= acked.length, `${events_total} events for ${acked.length} acknowledgements`)
        assert.ok(events_total <= i, 'never more events than requests sent')
      } finally {
        second.child.kill('SIGKILL')
        await second.exited
      }
    })
  })
}

describe('graceful shutdown', () => {
  it('finishes in-flight requests on SIGTERM and exits cleanly', async () => {
    const server = await startServerProcess()
    const { slug, token } = await setup(server)
    const inflight = Array.from({ length: 50 }, (_, n) => send(server, slug, token, `g-${n}`))
    await new Promise((r) => setTimeout(r, 5))
    server.child.kill('SIGTERM')
    const results = await Promise.all(inflight)
    const code = await server.exited
    assert.equal(code, 0, server.output())
    const acked = results.filter(Boolean).length
    const restarted = await startServerProcess({ DATA_DIR: server.dataDir })
    try {
      const { events_total } = await stats(restarted, slug)
      assert.ok(events_total >= acked, `${events_total} stored, ${acked} acknowledged`)
    } finally {
      restarted.child.kill('SIGKILL')
      await restarted.exited
    }
  })
})
