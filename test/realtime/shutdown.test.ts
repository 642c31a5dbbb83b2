import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Duplex } from 'node:stream'
import { buildTestApp, createCampaign, DIALECTS } from '../helper.js'
import { baseUrl, connect, type TestClient, waitUntil } from './client.js'

/** `promise`, or a rejection naming `what` once `ms` passed. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

for (const dialect of DIALECTS) {
  describe(`gateway shutdown (${dialect})`, () => {
    // An upgrade whose token and campaign are still being checked when shutdown begins used to
    // open anyway, after shutdown had sent 1012 to the sockets it knew: a socket nobody closes,
    // a room ticking after close, and `app.close()` waiting for that socket for good.
    it('refuses an upgrade authorised while shutting down, and close still completes', async () => {
      const ctx = await buildTestApp({ dialect })
      let closing: Promise<void> | undefined
      const opened: TestClient[] = []
      try {
        await ctx.app.listen({ port: 0, host: '127.0.0.1' })
        const url = baseUrl(ctx.app)
        const slug = await createCampaign(ctx.app)
        const { tokens } = ctx.app.platform
        const [first, late, probe] = await Promise.all([
          tokens.issueGuest(),
          tokens.issueGuest(),
          tokens.issueGuest(),
        ])
        // A socket that does not answer the close handshake: shutdown waits for it (up to 3 s).
        const stuck = await connect(`${url}/ws/${slug}/guest?token=${first.token}`)
        opened.push(stuck)
        ;(stuck.ws as unknown as { _socket: Duplex })._socket.pause()
        // The late upgrade's credential check is held until shutdown has begun.
        const auth = ctx.app.authenticator
        const resolve = auth.resolve
        let release!: () => void
        const held = new Promise<void>((r) => {
          release = r
        })
        let entered!: () => void
        const inside = new Promise<void>((r) => {
          entered = r
        })
        auth.resolve = async (credential) => {
          if (credential === late.token) {
            entered()
            await held
          }
          return resolve(credential)
        }
        const pending = connect(`${url}/ws/${slug}/guest?token=${late.token}`).then(
          (c) => {
            opened.push(c)
            return { status: 101 }
          },
          (err: { status?: number }) => ({ status: err.status }),
        )
        await inside
        closing = ctx.close()
        // Shutdown has begun once a new upgrade is refused with 503 SHUTTING_DOWN.
        await waitUntil(
          async () => {
            const status = await connect(`${url}/ws/${slug}/guest?token=${probe.token}`).then(
              (c) => {
                c.close()
                return 101
              },
              (err: { status?: number }) => err.status,
            )
            return status === 503
          },
          2500,
          'shutdown to begin',
        )
        release()
        assert.equal((await pending).status, 503, 'the late upgrade was opened during shutdown')
        await within(closing, 15_000, 'app.close()')
      } finally {
        for (const c of opened) c.close()
        await (closing ?? ctx.close()).catch(() => {})
      }
    })
  })
}
