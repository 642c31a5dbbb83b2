import type { FastifyInstance } from 'fastify'
import { campaignChannel } from '../../src/realtime/publish.js'

/**
 * Hold the opening of a campaign's sockets: the gateway sends `connected` only once its room
 * listens to the campaign's channel, so until `release()` a socket of `slug` has completed its
 * handshake but is still opening. `entered` resolves when the first one got that far.
 */
export function holdOpening(app: FastifyInstance, slug: string) {
  const bus = app.platform.bus
  const subscribe = bus.subscribe
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  let enter!: () => void
  const entered = new Promise<void>((r) => {
    enter = r
  })
  bus.subscribe = async (channel, handler) => {
    if (channel === campaignChannel(slug)) {
      enter()
      await gate
    }
    return subscribe.call(bus, channel, handler)
  }
  return {
    entered,
    release() {
      bus.subscribe = subscribe
      release()
    },
  }
}
