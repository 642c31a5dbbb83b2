// MONITOR for the tests that check what a client sends Redis (scripts by SHA1, round trips).
import { Redis } from 'ioredis'
import { REDIS_URL } from './helper.js'
import { waitUntil } from './realtime/client.js'

const WAIT = 10_000

/** A command as MONITOR showed it: `lua` for one a script ran, else the client's address. */
interface Seen {
  source: string
  args: string[]
}

/**
 * MONITOR on a connection of its own, straight to Redis (the server is shared: only commands
 * naming a key that starts with `prefix` are kept). `until(key)` waits for a command naming `key`:
 * Redis runs commands one at a time, so every command run before it has been seen too.
 */
export async function watchRedis(prefix: string) {
  // `monitor()` opens a connection of its own: the client it is called on never connects.
  const monitor = await new Redis(REDIS_URL!, { lazyConnect: true }).monitor()
  const seen: Seen[] = []
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (args.some((a) => a.startsWith(prefix))) seen.push({ source, args })
  })
  return {
    seen,
    /** The commands clients sent (not those their scripts ran): name and first key. */
    sent: (from = 0) =>
      seen
        .slice(from)
        .filter((s) => s.source !== 'lua')
        .map((s) => {
          const command = s.args[0]!.toLowerCase()
          const script = command === 'eval' || command === 'evalsha'
          return `${command} ${(script ? s.args[3] : s.args[1])!.slice(prefix.length)}`
        }),
    async until(key: string) {
      await waitUntil(() => seen.some((s) => s.args.includes(key)), WAIT, `MONITOR to show ${key}`)
    },
    close: () => monitor.disconnect(),
  }
}
