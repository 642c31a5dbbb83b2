// A gateway `Connection` without a network, for the unit tests beside src/realtime.
import type { WebSocket } from 'ws'
import { Connection } from '../../src/realtime/connection.js'

/**
 * A guest's `Connection` on campaign `c`, still opening, over a fake `ws`: `written` holds every
 * frame sent (parsed), and `ws.bufferedAmount` stands for the bytes the kernel has not taken yet.
 */
export function fakeConnection() {
  const written: any[] = []
  const ws = {
    readyState: 1,
    bufferedAmount: 0,
    send: (data: Buffer) => void written.push(JSON.parse(data.toString())),
  }
  const conn = new Connection(ws as unknown as WebSocket, {
    id: 'n.1',
    seq: 1,
    campaign: 'c',
    user_id: 'guest',
    session_id: 's',
    roles: ['guest'],
    kind: 'session',
    token: 't',
    expiresAt: 0,
    ip: '',
    messagesPerSecond: 5,
  })
  return { conn, ws, written }
}
