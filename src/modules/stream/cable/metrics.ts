import { Counter, type Registry } from 'prom-client'

/** `/cable` metrics, registered on the app's registry so `/metrics` shows them. */
export interface CableMetrics {
  /** `ovasabi_cable_credential_rechecks_failed_total`, as `/ws`'s `..._ws_credential_rechecks_failed_total`. */
  rechecksFailed: Counter<'outcome'>
  /** `ovasabi_cable_commands_refused_total{reason}`: frames dropped unread (`rate_limited`). */
  commandsRefused: Counter<'reason'>
  /**
   * `ovasabi_cable_disconnects_total{reason}`: sockets the server ended for a flood
   * (`rate_limited`) or for not reading what it sent them (`behind`).
   */
  disconnects: Counter<'reason'>
}

export function createCableMetrics(registry: Registry): CableMetrics {
  return {
    rechecksFailed: new Counter({
      name: 'ovasabi_cable_credential_rechecks_failed_total',
      help:
        'Credential re-checks of open /cable sockets (every 30 s, and at once for an account whose ' +
        'tokens were cut off) that failed: refused (revoked, cut off, expired, deleted: the socket ' +
        'was closed) or error (no answer, e.g. the database unreachable: the socket was kept)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    commandsRefused: new Counter({
      name: 'ovasabi_cable_commands_refused_total',
      help:
        "Frames from /cable clients dropped unread: rate_limited (over the socket's " +
        'CABLE_COMMANDS_PER_SECOND bucket)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    disconnects: new Counter({
      name: 'ovasabi_cable_disconnects_total',
      help:
        'Open /cable sockets the server ended: rate_limited (dropped frames past 3x the rate within ' +
        '10 s; told with a disconnect message) or behind (over 1 MiB waiting to be written: the ' +
        'client stopped reading; cut off)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  }
}
