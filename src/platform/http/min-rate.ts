import type { ServerResponse } from 'node:http'

/**
 * A floor under the rate a request body comes at, like Kestrel's `MinRequestBodyDataRate`: the
 * idle timeout alone lets a client that sends a byte just before each deadline hold its
 * connection (and an upload's file and row) for ever.
 */
export interface BodyRateFloor {
  /** Bytes per second a body must average while it is read; 0: no floor. */
  bytesPerSecond: number
  /** Reading time a body has before it is judged: a connection's slow start is not its rate. */
  graceMs: number
  /**
   * The average is over the last `windowMs` of reading (since the body began, while shorter). Not
   * since the body began for good: a body that started fast would then trickle for hours on its
   * credit. Not as short as the grace either: a client well above the floor may pause briefly.
   */
  windowMs: number
}

interface Watched {
  res: ServerResponse
  /** The socket's `bytesRead` at the last check. */
  bytesRead: number
  checkedAt: number
  readingMs: number
  /** `[ms, bytes]` of each check while the body was read, oldest first, covering `windowMs`. */
  samples: [number, number][]
  /** What `samples` add up to. */
  spanMs: number
  spanBytes: number
}

/**
 * Watches request bodies against `floor`: `onTooSlow` is called, once, with the response of a
 * body that fell under it and the rate it came at. One timer checks every body under way, as
 * Kestrel's heartbeat does; it runs only while there are some. Returns the function that starts
 * watching a request (one whose body already came whole, or that has no socket, is let be).
 */
export function bodyRateFloor(
  floor: BodyRateFloor,
  onTooSlow: (res: ServerResponse, bytesPerSecond: number) => void,
): (res: ServerResponse) => void {
  const { bytesPerSecond, graceMs, windowMs } = floor
  const watched = new Set<Watched>()
  const checkMs = Math.min(1000, Math.max(100, Math.floor(graceMs / 4)))
  let timer: NodeJS.Timeout | undefined

  function check(): void {
    const now = Date.now()
    for (const w of watched) {
      const { req } = w.res
      const socket = req.socket
      if (req.complete || socket.destroyed) {
        watched.delete(w)
        continue
      }
      const ms = now - w.checkedAt
      w.checkedAt = now
      // Bytes stop coming while nobody reads them (a body not read yet, storage slower than the
      // client): that time is not the client's. What came meanwhile counts once reading resumes.
      if (req.readableFlowing !== true) continue
      const bytes = socket.bytesRead - w.bytesRead
      w.bytesRead = socket.bytesRead
      w.readingMs += ms
      w.samples.push([ms, bytes])
      w.spanMs += ms
      w.spanBytes += bytes
      while (w.samples.length > 1 && w.spanMs - w.samples[0]![0] >= windowMs) {
        const [oldMs, oldBytes] = w.samples.shift()!
        w.spanMs -= oldMs
        w.spanBytes -= oldBytes
      }
      if (w.readingMs < graceMs) continue
      const rate = (w.spanBytes * 1000) / w.spanMs
      if (rate < bytesPerSecond) {
        watched.delete(w)
        onTooSlow(w.res, rate)
      }
    }
    if (watched.size === 0) {
      clearInterval(timer)
      timer = undefined
    }
  }

  return (res) => {
    const socket = res.req.socket
    // `app.inject` has no socket to measure, and its body is all there.
    if (bytesPerSecond === 0 || res.req.complete || typeof socket?.bytesRead !== 'number') return
    watched.add({
      res,
      bytesRead: socket.bytesRead,
      checkedAt: Date.now(),
      readingMs: 0,
      samples: [],
      spanMs: 0,
      spanBytes: 0,
    })
    timer ??= setInterval(check, checkMs).unref()
  }
}
