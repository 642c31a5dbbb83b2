import ActionCable, { type Consumer, type Subscription } from '@rails/actioncable'
import { WebSocket } from 'ws'
import { buildTestApp, type Dialect, type TestContext } from '../helper.js'

// The real browser client, run in Node: `ws` is its WebSocket, and the page-visibility hooks it
// installs are no-ops here.
ActionCable.adapters.WebSocket = WebSocket
const g = globalThis as Record<string, unknown>
g.addEventListener ??= () => {}
g.removeEventListener ??= () => {}

/** Wait until `check` is true (no timing assertions: a generous deadline only). */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export interface TestSubscription {
  subscription: Subscription
  received: any[]
  connected: boolean
  rejected: boolean
  /** Set when the connection went away (the server closed it, or said `disconnect`). */
  disconnected: boolean
}

export function consumer(baseUrl: string, token: string): Consumer {
  return ActionCable.createConsumer(
    `${baseUrl.replace(/^http/, 'ws')}/cable?token=${encodeURIComponent(token)}`,
  )
}

/**
 * A test app on a real port for ActionCable clients: `consumer(token)` opens a client on it, and
 * `close` disconnects every client opened so and closes the app.
 */
export async function cableApp(dialect: Dialect): Promise<{
  ctx: TestContext
  base: string
  consumer(token: string): Consumer
  close(): Promise<void>
}> {
  const ctx = await buildTestApp({ dialect })
  await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}`
  const opened: Consumer[] = []
  return {
    ctx,
    base,
    consumer(token) {
      const c = consumer(base, token)
      opened.push(c)
      return c
    },
    async close() {
      for (const c of opened) c.disconnect()
      await ctx.close()
    },
  }
}

export async function subscribe(
  c: Consumer,
  channel: string | Record<string, unknown>,
  options: { expectReject?: boolean } = {},
): Promise<TestSubscription> {
  const state: TestSubscription = {
    subscription: undefined as never,
    received: [],
    connected: false,
    rejected: false,
    disconnected: false,
  }
  state.subscription = c.subscriptions.create(channel, {
    connected() {
      state.connected = true
    },
    rejected() {
      state.rejected = true
    },
    disconnected() {
      state.disconnected = true
    },
    received(data: unknown) {
      state.received.push(data)
    },
  })
  await until(
    () => (options.expectReject ? state.rejected : state.connected),
    `subscription to ${JSON.stringify(channel)}`,
  )
  return state
}
