import { createHash } from 'node:crypto'
import type { ChainableCommander, Redis } from 'ioredis'

type Arg = string | number

/**
 * A Lua script sent by its SHA1 (EVALSHA) rather than by its text on every call (`redis.eval`):
 * ioredis's `defineCommand` sends the text once per connection (EVAL), then the SHA1 alone, and
 * the text again when the server has forgotten it (NOSCRIPT: a restart, a SCRIPT FLUSH).
 *
 * `defineCommand` is per client, so each script is defined once on each client that runs it
 * (`define`). Its name on the client is made from its SHA1: it never shadows a Redis command or
 * another script.
 *
 * A script always goes in a pipeline made after it was defined, never in the client's automatic
 * one (`enableAutoPipelining`): ioredis gives a pipeline the scripts its client had when it was
 * made, and a call landing in an automatic pipeline made just before the script was defined
 * would throw outside any promise (an uncaught exception).
 */
export interface RedisScript {
  /** Defines the script on `redis`, once; a pipeline made after that can `queue` it. */
  define(redis: Redis): void
  /** Runs it with `keys` (all it touches) and `args`, alone in a pipeline; the reply as Redis gave it. */
  run(redis: Redis, keys: readonly string[], args: readonly Arg[]): Promise<unknown>
  /** Adds it to `pipeline`, which must come from a client the script was defined on first. */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly Arg[]): ChainableCommander
}

/** The script as ioredis puts it on a pipeline: keys first, then the arguments. */
type QueueCall = (...keysThenArgs: Arg[]) => ChainableCommander

/**
 * `numberOfKeys`: how many KEYS each call names, every key the script touches; `'variable'` for a
 * script whose calls name as many as they need (each call then sends its count).
 */
export function redisScript(numberOfKeys: number | 'variable', lua: string): RedisScript {
  const name = `script_${createHash('sha1').update(lua).digest('hex')}`
  const defined = new WeakSet<Redis>()
  const fixed = numberOfKeys !== 'variable'
  const define = (redis: Redis) => {
    if (defined.has(redis)) return
    redis.defineCommand(name, fixed ? { lua, numberOfKeys } : { lua })
    defined.add(redis)
  }
  const queue = (pipeline: ChainableCommander, keys: readonly string[], args: readonly Arg[]) => {
    if (fixed && keys.length !== numberOfKeys) {
      throw new Error(`This script takes ${numberOfKeys} keys, not ${keys.length}`)
    }
    const call = (pipeline as unknown as Record<string, QueueCall | undefined>)[name]
    if (typeof call !== 'function') {
      throw new Error('The script was not defined on the client before this pipeline was made')
    }
    // ioredis finds the keys (to prefix them) from the count before them, given or added.
    return fixed ? call.call(pipeline, ...keys, ...args) : call.call(pipeline, keys.length, ...keys, ...args)
  }
  return {
    define,
    queue,
    async run(redis, keys, args) {
      define(redis)
      const pipeline = redis.pipeline()
      queue(pipeline, keys, args)
      const [reply] = await execPipeline(pipeline)
      return reply
    },
  }
}

/**
 * Sends `pipeline` (one round trip) and fails as a single command would if any command in it failed:
 * with that command's error. The others ran all the same (a pipeline is not a transaction).
 */
export async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = await pipeline.exec()
  if (!replies) throw new Error('Redis discarded the pipeline')
  for (const [err] of replies) if (err) throw err
  return replies.map(([, reply]) => reply)
}
