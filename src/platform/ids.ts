import { randomFillSync } from 'node:crypto'
import { monotonicFactory } from 'ulid'

// ulid's default PRNG makes one getRandomValues call per character (16 per id), which showed as
// ~6 % of the action endpoint's CPU; drawing from a pooled CSPRNG buffer gives the same ids.
const pool = new Uint8Array(4096)
let next = pool.length

function pooledRandom(): number {
  if (next >= pool.length) {
    randomFillSync(pool)
    next = 0
  }
  return pool[next++]! / 256
}

/**
 * Ids made in the same millisecond increase with the order they were made in (the random part of
 * the millisecond's first id plus one, plus two…), and an id never sorts before one made earlier
 * by this process, even if the clock steps back. Lists paged by id (a webhook's messages) then
 * show what one batch queued in the order it was queued. Order holds within a process only; the
 * ids are no secret (each caller scopes them: an idempotency key is per actor).
 */
const ordered = monotonicFactory(pooledRandom)

/** A ULID (time-sortable, 80 bits from the OS CSPRNG), cheap enough for every request. */
export function newUlid(): string {
  return ordered()
}
