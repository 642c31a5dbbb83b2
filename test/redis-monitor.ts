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
 * A connection to `url` in MONITOR mode, once it is. ioredis enters the mode a tick after MONITOR's
 * OK, so the line of another client's command read in the same chunk as that OK finds no command
 * waiting for an answer, and the connection emits "Command queue state error" (which rejected
 * `redis.monitor()`, failing a test on a busy shared server). Such a line is of a command run
 * before the watch began: it is dropped.
 */
export async function monitorConnection(url: string): Promise<Redis> {
  const monitor = new Redis(url, { monitor: true })
  let watching = false
  await new Promise<void>((resolve, reject) => {
    monitor.once('monitoring', () => {
      watching = true
      resolve()
    })
    monitor.on('error', (err: Error) => {
      if (!watching && !err.message.startsWith('Command queue state error')) reject(err)
    })
  })
  return monitor
}

/**
 * MONITOR on a connection of its own, straight to Redis (the server is shared: only commands
 * naming a key that starts with `prefix` are kept). `until(key)` waits for a command naming `key`:
 * Redis runs commands one at a time, so every command run before it has been seen too.
 */
export async function watchRedis(prefix: string) {
  const monitor = await monitorConnection(REDIS_URL!)
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
