import type { FastifyPluginAsync } from 'fastify'
import type { Config } from '../../config.js'
import type { Platform } from '../../platform/platform.js'
import { createAccountService } from './account.service.js'
import { createMaintenance } from './maintenance.js'
import { createMemoryRateLimiter, createRedisRateLimiter } from './ratelimit.js'
import { createStreamService } from './stream.service.js'
import { v1Plugin } from './v1.plugin.js'

export { maintenancePlugin } from './maintenance.js'
export { streamManifest as manifest } from './stream.manifest.js'

/** The module's services, built once in `app.ts`. */
export function createStreamModule(deps: {
  platform: Pick<Platform, 'database' | 'bus' | 'redis' | 'apiKeys'>
  config: Config
}) {
  const { platform, config } = deps
  const db = platform.database.db
  const accounts = createAccountService({ db, apiKeys: platform.apiKeys, secret: config.JWT_SECRET })
  const streams = createStreamService({ db, bus: platform.bus, accounts })
  const maintenance = createMaintenance({ db, bus: platform.bus, forced: config.MAINTENANCE_MODE })
  const limiter = platform.redis ? createRedisRateLimiter(platform.redis) : createMemoryRateLimiter()
  return { accounts, streams, maintenance, limiter, config }
}
export type StreamModule = ReturnType<typeof createStreamModule>

/** `/api/v1` (StreamSource-compatible). */
export const routes: FastifyPluginAsync<{ module: StreamModule }> = async (app, { module }) => {
  await app.register(v1Plugin, { ...module, prefix: '/api/v1' })
  let purge: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    await module.maintenance.start()
    purge = setInterval(() => void module.accounts.purge().catch(() => {}), 60 * 60_000)
    purge.unref()
  })
  app.addHook('onClose', async () => {
    clearInterval(purge)
    await module.maintenance.stop()
  })
}
