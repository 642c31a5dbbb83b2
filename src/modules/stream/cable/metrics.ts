import { Counter, type Registry } from 'prom-client'

/** `/cable` metrics, registered on the app's registry so `/metrics` shows them. */
export interface CableMetrics {
  /** `ovasabi_cable_credential_rechecks_failed_total`, as `/ws`'s `..._ws_credential_rechecks_failed_total`. */
  rechecksFailed: Counter<'outcome'>
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
  }
}
