import { Counter, Gauge, type Registry } from 'prom-client'

/** Gateway metrics, registered on the app's registry so `/metrics` shows them. */
export interface RealtimeMetrics {
  connections: Gauge
  framesSent: Counter<'type'>
  dropped: Counter<'reason'>
  closes: Counter<'code'>
  inbound: Counter<'type'>
  refused: Counter<'code'>
}

export function createRealtimeMetrics(registry: Registry): RealtimeMetrics {
  return {
    connections: new Gauge({
      name: 'ovasabi_ws_connections',
      help: 'Open WebSocket connections on this node',
      registers: [registry],
    }),
    framesSent: new Counter({
      name: 'ovasabi_ws_frames_sent_total',
      help: 'Frames written to sockets, by frame type',
      labelNames: ['type'],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'ovasabi_ws_frames_dropped_total',
      help: 'Frames not delivered: coalesced presence, queue overflow, replay too large, inbound rate limit, invalid input',
      labelNames: ['reason'],
      registers: [registry],
    }),
    closes: new Counter({
      name: 'ovasabi_ws_closes_total',
      help: 'Closed sockets by close code (1006 = dead or terminated)',
      labelNames: ['code'],
      registers: [registry],
    }),
    inbound: new Counter({
      name: 'ovasabi_ws_inbound_total',
      help: 'Accepted client frames by type',
      labelNames: ['type'],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'ovasabi_ws_upgrades_refused_total',
      help: 'Refused upgrades by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
  }
}
