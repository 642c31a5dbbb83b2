import type { Redis } from 'ioredis'

/**
 * Viewer counts across nodes. Each node reports how many of its sockets watch a stream; the total
 * is the sum of fresh reports, so a crashed node's viewers drop out within a few seconds.
 */
export interface ViewerCounter {
  report(streamId: number, local: number): Promise<void>
  total(streamId: number): Promise<number>
  /** True on exactly one node per stream and second: that node publishes the tick. */
  elect(streamId: number): Promise<boolean>
}

const FRESH_MS = 3000

export function createMemoryViewerCounter(): ViewerCounter {
  const counts = new Map<number, number>()
  return {
    async report(id, local) {
      counts.set(id, local)
    },
    async total(id) {
      return counts.get(id) ?? 0
    },
    elect: async () => true,
  }
}

export function createRedisViewerCounter(
  redis: Redis,
  nodeId: string,
  prefix = 'ovasabi:stream:',
): ViewerCounter {
  const key = (id: number) => `${prefix}viewers:${id}`
  return {
    async report(id, local) {
      await redis
        .multi()
        .hset(key(id), nodeId, `${local}:${Date.now() + FRESH_MS}`)
        .pexpire(key(id), FRESH_MS * 4)
        .exec()
    },
    async total(id) {
      const all = await redis.hgetall(key(id))
      const now = Date.now()
      let sum = 0
      const stale: string[] = []
      for (const [node, value] of Object.entries(all)) {
        const [count, until] = value.split(':').map(Number)
        if ((until ?? 0) >= now) sum += count ?? 0
        else stale.push(node)
      }
      if (stale.length) await redis.hdel(key(id), ...stale)
      return sum
    },
    async elect(id) {
      const second = Math.floor(Date.now() / 1000)
      return (await redis.set(`${prefix}tick:${id}:${second}`, nodeId, 'PX', 2000, 'NX')) === 'OK'
    },
  }
}
