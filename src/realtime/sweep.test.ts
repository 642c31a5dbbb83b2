import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Principal } from '../platform/auth/principal.js'
import { UnauthorizedError } from '../platform/http/errors.js'
import type { Connection } from './connection.js'
import { Registry } from 'prom-client'
import { Hub } from './hub.js'
import { createRealtimeMetrics } from './metrics.js'
import type { Room } from './room.js'
import { REVALIDATE_CONCURRENCY, Sweeper } from './sweep.js'

/** Open sockets as the sweep reads them: idle already (no cursor to mark), none due a ping. */
function sockets(n: number) {
  return Array.from(
    { length: n },
    (_, i) =>
      ({
        connection_id: `n.${i}`,
        seq: i,
        token: i % 5 === 0 ? `revoked.${i}` : `ok.${i}`,
        closing: false,
        held: null,
        expiresAt: 0,
        idle: true,
        alive: true,
        lastInput: 0,
        ws: { ping() {} },
      }) as unknown as Connection,
  )
}

/** An authenticator whose answers the test gives, one check at a time, recording how many wait. */
function heldAuthenticator() {
  const waiting: Array<{ token: string; answer: () => void }> = []
  const asked: string[] = []
  let inFlight = 0
  let most = 0
  return {
    waiting,
    asked,
    most: () => most,
    resolve(token: string): Promise<Principal> {
      asked.push(token)
      most = Math.max(most, ++inFlight)
      return new Promise((resolve, reject) => {
        waiting.push({
          token,
          answer: () => {
            inFlight--
            if (token.startsWith('revoked')) reject(new UnauthorizedError('revoked', 'TOKEN_REVOKED'))
            else resolve({ kind: 'session', user_id: 'guest', session_id: 's', roles: ['guest'] })
          },
        })
      })
    },
  }
}

/** The gateway's metrics on their own registry, and `ovasabi_ws_credential_rechecks_failed_total` by outcome. */
function recheckMetrics() {
  const metrics = createRealtimeMetrics(new Registry())
  const failed = async (outcome: 'refused' | 'error') =>
    (await metrics.rechecksFailed.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0
  return { metrics, failed }
}

const turns = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
}

describe('the periodic token re-check', () => {
  it(`checks ${REVALIDATE_CONCURRENCY} sockets at a time, skipping those closed meanwhile`, async () => {
    const conns = sockets(50)
    const hub = new Hub()
    hub.rooms.set('c', { conns: new Set(conns), markIdle() {} } as unknown as Room)
    const auth = heldAuthenticator()
    const closed: Array<[string, number, string]> = []
    const errors: string[] = []
    const { metrics, failed } = recheckMetrics()
    const sweeper = new Sweeper({
      hub,
      metrics,
      authenticator: auth,
      frames: { error: (c, code) => void errors.push(`${c.connection_id}:${code}`) },
      config: { WS_HEARTBEAT_MS: 1_000_000, WS_IDLE_MS: 1_000_000 },
      close: (c, code, reason) => {
        c.closing = true
        closed.push([c.connection_id, code, reason])
      },
      log: { warn() {} },
    })
    const due = Date.now() + 30_000
    sweeper.run(due)
    await turns()
    assert.equal(auth.waiting.length, REVALIDATE_CONCURRENCY, 'a pass runs its checks side by side')
    // The next pass comes due while this one still waits: it does not start a second set.
    sweeper.run(due + 30_000)
    await turns()
    assert.equal(auth.asked.length, REVALIDATE_CONCURRENCY)

    // Closed before its turn: never checked. Closed while its check ran: not closed again.
    conns[40]!.closing = true
    const revokedInFlight = conns[5]!
    revokedInFlight.closing = true
    // Refreshed in-band (`auth`) while its old token was being checked: judged by the new one later.
    conns[10]!.token = 'ok.refreshed'
    while (auth.waiting.length > 0) {
      for (const w of auth.waiting.splice(0)) w.answer()
      await turns()
    }
    assert.equal(auth.most(), REVALIDATE_CONCURRENCY)
    assert.equal(auth.asked.length, 49, 'every open socket once, not the one closed before its turn')
    assert.ok(!auth.asked.includes('revoked.40'))
    const expected = [0, 15, 20, 25, 30, 35, 45].map((i) => `n.${i}`)
    assert.deepEqual(closed.map(([id]) => id).sort(), expected.sort())
    assert.ok(closed.every(([, code, reason]) => code === 1008 && reason === 'TOKEN_REVOKED'))
    assert.deepEqual(errors.sort(), expected.map((id) => `${id}:TOKEN_REVOKED`).sort())
    // Counted per socket closed: not the one closed meanwhile, nor one judged by its old token.
    assert.equal(await failed('refused'), expected.length)
    assert.equal(await failed('error'), 0)
  })
})

describe('a re-check that gets no answer', () => {
  it('keeps the socket and checks it again on the next pass; a refusal still closes', async () => {
    const conns = sockets(10)
    const hub = new Hub()
    hub.rooms.set('c', { conns: new Set(conns), markIdle() {} } as unknown as Room)
    let outage = true
    const asked: string[] = []
    const closed: Array<[string, number, string]> = []
    const errors: string[] = []
    const warned: unknown[] = []
    const { metrics, failed } = recheckMetrics()
    const sweeper = new Sweeper({
      hub,
      metrics,
      authenticator: {
        async resolve(token: string): Promise<Principal> {
          asked.push(token)
          // The API key or revocation lookup cannot reach the database: not an answer.
          if (outage) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' })
          if (token.startsWith('revoked')) throw new UnauthorizedError('revoked', 'TOKEN_REVOKED')
          return { kind: 'apikey', user_id: 'apikey:k', session_id: 'apikey:k', roles: ['admin'] }
        },
      },
      frames: { error: (c, code) => void errors.push(`${c.connection_id}:${code}`) },
      config: { WS_HEARTBEAT_MS: 1_000_000, WS_IDLE_MS: 1_000_000 },
      close: (c, code, reason) => {
        c.closing = true
        closed.push([c.connection_id, code, reason])
      },
      log: { warn: (fields: unknown) => void warned.push(fields) },
    })
    const due = Date.now() + 30_000
    sweeper.run(due)
    await turns()
    assert.equal(asked.length, 10, 'every socket was checked')
    assert.equal(closed.length, 0, 'no socket closed for a failure to check')
    assert.equal(errors.length, 0)
    assert.equal(warned.length, 1, 'the pass logged its failures once')
    assert.equal((warned[0] as { unanswered: number }).unanswered, 10)
    assert.equal(await failed('error'), 10, 'every unanswered check is counted')
    assert.equal(await failed('refused'), 0)

    // The database is back: the next pass checks them all again and closes the revoked ones only.
    outage = false
    sweeper.run(due + 30_000)
    await turns()
    assert.equal(asked.length, 20)
    assert.deepEqual(closed.map(([id]) => id).sort(), ['n.0', 'n.5'])
    assert.ok(closed.every(([, code, reason]) => code === 1008 && reason === 'TOKEN_REVOKED'))
    assert.deepEqual(errors.sort(), ['n.0:TOKEN_REVOKED', 'n.5:TOKEN_REVOKED'])
    assert.equal(warned.length, 1)
    assert.equal(await failed('refused'), 2)
    assert.equal(await failed('error'), 10, 'a pass with answers adds no errors')
  })
})
