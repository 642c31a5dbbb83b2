import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'

/**
 * A frame meant for many sockets: serialised once (`payload`) and framed once (`wire`, the
 * complete unmasked WebSocket text frame, RFC 6455 §5.2), so a tick's per-socket cost is one
 * socket write rather than `ws` building a header, an options object and a write pair each time.
 */
export interface Broadcast {
  payload: Buffer
  wire: Buffer
}

export function broadcast(payload: Buffer): Broadcast {
  const n = payload.length
  const headerLength = n < 126 ? 2 : n < 65_536 ? 4 : 10
  const wire = Buffer.allocUnsafe(headerLength + n)
  wire[0] = 0x81 // FIN + text
  if (n < 126) wire[1] = n
  else if (n < 65_536) {
    wire[1] = 126
    wire.writeUInt16BE(n, 2)
  } else {
    wire[1] = 127
    wire.writeUInt32BE(Math.floor(n / 2 ** 32), 2)
    wire.writeUInt32BE(n >>> 0, 6)
  }
  payload.copy(wire, headerLength)
  return { payload, wire }
}

const SEND_OPTIONS = { binary: false, compress: false, fin: true } as const

/** The TCP socket under a `ws` socket (a private field of `ws` 8; undefined if that changes). */
function socketOf(ws: WebSocket): Duplex | null | undefined {
  return (ws as unknown as { _socket?: Duplex | null })._socket
}

/**
 * Write a broadcast to one socket. Writing the framed bytes straight to the TCP socket keeps
 * ordering with `ws`'s own sends only because the gateway never negotiates compression and never
 * sends Blobs: then `ws` writes every frame synchronously and never holds one back. Its
 * `bufferedAmount` reads the same socket, so backpressure sees these bytes too. Falls back to
 * `ws.send` when the socket is not reachable (another `ws` version).
 */
export function writeBroadcast(ws: WebSocket, b: Broadcast): void {
  const socket = socketOf(ws)
  if (socket) socket.write(b.wire)
  else ws.send(b.payload, SEND_OPTIONS)
}

/** An empty ping control frame (FIN + opcode 9, no payload): the same two bytes for every socket. */
const PING = Buffer.from([0x89, 0x00])

/** Heartbeat ping, written straight to the socket like a broadcast (same ordering argument). */
export function writePing(ws: WebSocket): void {
  const socket = socketOf(ws)
  if (socket) socket.write(PING)
  else ws.ping()
}
