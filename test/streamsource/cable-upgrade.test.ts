import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { MESSAGES } from '../../src/modules/stream/v1.errors.js'
import { tooManyConnections } from '../../src/realtime/limits.js'
import { refuse } from '../../src/realtime/upgrade.js'
import { until } from './cable-client.js'
import { cableOn, type UpgradeAnswer, upgrade } from './cable-node.js'

/** A refusal as `/ws` sends one: a plain answer that closes, its length and type declared, the REST error body. */
function assertRefused(answer: UpgradeAnswer, status: number, code: string) {
  assert.ok(!answer.ws, `expected ${status} ${code}, got an open socket`)
  assert.equal(answer.status, status)
  assert.equal(answer.headers.connection, 'close')
  assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8')
  assert.equal(Number(answer.headers['content-length']), Buffer.byteLength(answer.body))
  const body = JSON.parse(answer.body)
  assert.equal(body.status, 'error')
  assert.equal(body.error.code, code)
  return body.error as { code: string; message: string; details?: unknown }
}

describe('/cable refuses upgrades with a plain answer', () => {
  let maintenance = false
  let node: Awaited<ReturnType<typeof cableOn>>
  before(async () => {
    node = await cableOn({ isMaintenance: () => maintenance })
  })
  after(() => node.close())

  it('503 MAINTENANCE during maintenance', async () => {
    maintenance = true
    try {
      const error = assertRefused(await upgrade(`${node.ws}/cable?token=token-1`), 503, 'MAINTENANCE')
      assert.equal(error.message, MESSAGES.maintenance)
    } finally {
      maintenance = false
    }
  })

  it("403 ORIGIN_NOT_ALLOWED for the login cookie from another site's page", async () => {
    const answer = await upgrade(`${node.ws}/cable`, {
      cookie: 'jwt_token=token-2',
      origin: 'https://evil.example',
    })
    assertRefused(answer, 403, 'ORIGIN_NOT_ALLOWED')
  })
})

describe('/cable during shutdown', () => {
  it('refuses an upgrade arriving while close() is in progress with 503 SHUTTING_DOWN', async () => {
    const node = await cableOn()
    // close() waits on the bus; the upgrade arrives meanwhile.
    const reopen = node.bus.shut()
    const closing = node.closeCable()
    try {
      assertRefused(await upgrade(`${node.ws}/cable?token=token-3`), 503, 'SHUTTING_DOWN')
    } finally {
      reopen()
      await closing
      await node.close()
    }
  })

  it('refuses an upgrade whose credential was being checked when close() began', async () => {
    const node = await cableOn()
    const release = node.accounts.hold('token-4')
    const reopen = node.bus.shut()
    let closing: Promise<void> | undefined
    try {
      const answer = upgrade(`${node.ws}/cable?token=token-4`)
      await until(() => node.accounts.checks('token-4') === 1, 'the credential check under way')
      closing = node.closeCable()
      release()
      assertRefused(await answer, 503, 'SHUTTING_DOWN')
    } finally {
      release()
      reopen()
      await closing
      await node.close()
    }
  })

  it('refuses an upgrade arriving after close() (the HTTP server still listening) with 503 SHUTTING_DOWN', async () => {
    const node = await cableOn()
    try {
      await node.closeCable()
      assertRefused(await upgrade(`${node.ws}/cable?token=token-5`), 503, 'SHUTTING_DOWN')
    } finally {
      await node.close()
    }
  })
})

describe('/cable socket limits, handed to the server', () => {
  /** A stand-in for the gateway's admission: records what it was asked, refuses when told to. */
  const admission = {
    addresses: 0,
    sessions: [] as string[],
    full: false,
    admitAddress(_req: IncomingMessage, socket: Duplex) {
      admission.addresses++
      if (!admission.full) return '127.0.0.1'
      refuse(socket, tooManyConnections('ip', 1))
      return undefined
    },
    admitSession(_socket: Duplex, session: string) {
      admission.sessions.push(session)
      return true
    },
  }
  let current: typeof admission | undefined
  let node: Awaited<ReturnType<typeof cableOn>>
  before(async () => {
    node = await cableOn({ admission: () => current })
  })
  after(() => node.close())

  it('reads the admission per upgrade, counts the address and the login, and refuses when it is full', async () => {
    // Not built yet (the gateway comes after the stream module): no limits, nothing breaks.
    const early = await upgrade(`${node.ws}/cable?token=token-6`)
    assert.equal(early.first?.type, 'welcome')
    early.ws?.terminate()

    current = admission
    const admitted = await upgrade(`${node.ws}/cable?token=token-7`)
    assert.equal(admitted.first?.type, 'welcome')
    admitted.ws?.terminate()
    assert.equal(admission.addresses, 1)
    assert.deepEqual(admission.sessions, ['cable:token:token-7'])

    admission.full = true
    const error = assertRefused(await upgrade(`${node.ws}/cable?token=token-8`), 429, 'TOO_MANY_CONNECTIONS')
    assert.deepEqual(error.details, { scope: 'ip', limit: 1 })
    assert.equal(admission.addresses, 2)
    assert.deepEqual(admission.sessions, ['cable:token:token-7'], 'refused before the credential')
  })
})
