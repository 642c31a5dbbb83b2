import { Counter, Gauge, type Registry } from 'prom-client'

/** Gateway metrics, registered on the app's registry so `/metrics` shows them. */
export interface RealtimeMetrics {
  connections: Gauge
  framesSent: Counter<'type'>
  dropped: Counter<'reason'>
  closes: Counter<'code'>
  inbound: Counter<'type'>
  refused: Counter<'code'>
  rechecksFailed: Counter<'outcome'>
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
      help: 'Upgrades (/ws and /cable) refused before the handshake, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    rechecksFailed: new Counter({
      name: 'ovasabi_ws_credential_rechecks_failed_total',
      help:
        'Periodic credential re-checks of open sockets that failed: refused (revoked, expired, erased: ' +
        'the socket was closed) or error (no answer, e.g. the database unreachable: the socket was kept)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  }
}

/**
 * The `code` label of `ovasabi_ws_closes_total`. The client chooses its close code (3000–4999 are
 * free for applications), so codes outside the protocol's own range are counted by thousand:
 * every distinct label value is a series Prometheus keeps, and a client must not mint them.
 */
export function closeCodeLabel(code: number): string {
  if (Number.isInteger(code) && code >= 1000 && code <= 1015) return String(code)
  if (code >= 3000 && code <= 3999) return '3xxx'
  if (code >= 4000 && code <= 4999) return '4xxx'
  return 'other'
}
