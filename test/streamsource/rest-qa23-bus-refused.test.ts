import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { InjectOptions } from 'fastify'
import { CABLE_CHANNEL } from '../../src/modules/stream/cable/protocol.js'
import { buildTestApp, DIALECTS, json, type TestContext } from '../helper.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

/**
 * Every stream write told `/cable` through the bus and failed with it: with Redis unreachable
 * (ioredis refuses at once, its offline queue off) a write that had committed answered 500, and
 * a batch stopped after its first item, so each retry applied that one item again and no more.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource writes while the bus refuses (${dialect})`, () => {
    let ctx: TestContext
    let editor: TestAccount
    let publish: TestContext['app']['platform']['bus']['publish']
    const refused: unknown[] = []
    before(async () => {
      ctx = await buildTestApp({ dialect })
      editor = await account(ctx.app, 'editor')
      const { bus } = ctx.app.platform
      publish = bus.publish
      bus.publish = async (channel, message) => {
        if (channel !== CABLE_CHANNEL) return publish.call(bus, channel, message)
        refused.push(message)
        throw new Error("Stream isn't writeable and enableOfflineQueue options is false")
      }
    })
    after(async () => {
      ctx.app.platform.bus.publish = publish
      await ctx.close()
    })
    const send = (method: InjectOptions['method'], url: string, payload?: unknown) =>
      ctx.app.inject({ method, url, headers: editor.headers, payload: payload as InjectOptions['payload'] })

    it('answers each committed write as committed', async () => {
      const made = await send('POST', '/api/v1/streams', { link: uniqueLink(), title: 'one' })
      assert.equal(made.statusCode, 201, made.body)
      const id = json(made).stream.id
      const patched = await send('PATCH', `/api/v1/streams/${id}`, { status: 'live' })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.equal(json(patched).stream.status, 'live')
      assert.equal((await send('PUT', `/api/v1/streams/${id}/pin`)).statusCode, 200)
      assert.equal((await send('POST', `/api/v1/streams/${id}/archive`)).statusCode, 200)
      assert.equal((await send('DELETE', `/api/v1/streams/${id}`)).statusCode, 204)
      assert.equal((await send('GET', `/api/v1/streams/${id}`)).statusCode, 404)
      assert.ok(refused.length >= 5, 'each write still tried to tell /cable')
    })

    it('applies and reports every item of an import and a batch', async () => {
      const links = [uniqueLink(), uniqueLink(), uniqueLink()]
      const imported = await send(
        'POST',
        '/api/v1/streams/import',
        links.map((link) => ({ link })),
      )
      assert.equal(imported.statusCode, 200, imported.body)
      assert.equal(json(imported).created, 3, imported.body)
      const batch = await send(
        'PATCH',
        '/api/v1/streams/batch',
        links.map((link) => ({ link, status: 'offline' })),
      )
      assert.equal(batch.statusCode, 200, batch.body)
      assert.equal(json(batch).updated, 3, batch.body)
      for (const link of links) {
        const found = await send('GET', `/api/v1/streams?url=${encodeURIComponent(link)}`)
        assert.equal(json(found).streams[0].status, 'offline', link)
      }
    })
  })
}
