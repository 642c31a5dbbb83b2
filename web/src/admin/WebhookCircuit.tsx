import type { Webhook } from '../../../client/index.js'
import { localTime } from './ui.js'

/**
 * An enabled endpoint's circuit breaker as the server reports it. Half-open was shown as open
 * while its probe was out (and as closed once the cooldown ended): an operator waiting for the
 * breaker could not tell that it was already trying the receiver again.
 */
export function CircuitBadge({ hook }: { hook: Webhook }) {
  const until = hook.circuit_open_until ? localTime(hook.circuit_open_until) : undefined
  if (hook.circuit === 'half-open')
    return (
      <span
        class="badge"
        data-tone="warn"
        data-testid="webhook-circuit"
        data-circuit="half-open"
        title="The pause after failures ended: one waiting message goes first, as a probe. Its answer resumes delivery or pauses the endpoint again."
      >
        circuit half-open: probing
      </span>
    )
  if (hook.circuit === 'open')
    return (
      <span
        class="badge"
        data-tone="warn"
        data-testid="webhook-circuit"
        data-circuit="open"
        title="Nothing is sent to this endpoint until then; waiting messages go once a probe succeeds."
      >
        circuit open: paused after failures{until && ` until ${until}`}
      </span>
    )
  return (
    <span class="badge" data-tone="ok" data-testid="webhook-circuit" data-circuit="closed">
      circuit closed
    </span>
  )
}
