// The test's Redis behind a proxy the test controls, as a network between app and Redis fails.
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'

/**
 * A proxy on a real port in front of `REDIS_URL` (`target`). `cut()` drops the open connections
 * and refuses new ones, until `restore()` takes them again on the same port; `stall()` keeps them open and swallows every byte from then on; `hold()`
 * keeps Redis's answers back (commands still reach it) until `release()` hands them on. `url`
 * is the `redis://…` to give the app; `port` is the proxy's.
 */
export async function redisProxy(target: string) {
  const upstreamUrl = new URL(target)
  const sockets = new Set<Socket>()
  let stalled = false
  /** Answers kept back by `hold()`, in the order Redis sent them. */
  let held: Array<{ to: Socket; chunk: Buffer }> | undefined
  const proxy = createServer((client) => {
    const upstream = connect(Number(upstreamUrl.port || 6379), upstreamUrl.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
    }
    // Bytes flow until the stall; then they are swallowed and the connections stay open.
    client.on('data', (chunk) => stalled || upstream.write(chunk))
    upstream.on('data', (chunk: Buffer) => {
      if (stalled) return
      if (held) held.push({ to: client, chunk })
      else client.write(chunk)
    })
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const port = (proxy.address() as AddressInfo).port
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stall() {
      stalled = true
    },
    hold() {
      held ??= []
    },
    release() {
      const answers = held ?? []
      held = undefined
      for (const { to, chunk } of answers) to.write(chunk)
    },
    cut() {
      proxy.close()
      for (const s of sockets) s.destroy()
    },
    restore: () => new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve)),
  }
}
