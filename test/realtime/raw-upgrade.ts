import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'

/** An HTTP answer exactly as it came over the wire: every header line, repeats included. */
export interface RawAnswer {
  status: number
  /** [lower-cased name, value] per header line, in order. */
  headers: Array<[string, string]>
  body: string
  raw: string
}

/** Every value of header `name`. */
export function headerValues(answer: RawAnswer, name: string): string[] {
  return answer.headers.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v)
}

/**
 * Asserts `answer` is a refusal with `status`, framed as every upgrade refusal must be whatever
 * headers it carries: one Content-Length that matches the body, `Connection: close`, a JSON error
 * body. Returns its error code.
 */
export function assertRefusal(answer: RawAnswer, status: number): string {
  assert.equal(answer.status, status)
  assert.deepEqual(headerValues(answer, 'content-length'), [String(Buffer.byteLength(answer.body))])
  assert.deepEqual(headerValues(answer, 'connection'), ['close'])
  assert.deepEqual(headerValues(answer, 'content-type'), ['application/json; charset=utf-8'])
  return JSON.parse(answer.body).error.code
}

/** `request` written as is on a TCP socket to 127.0.0.1:`port`, and the answer until the server closes. */
export function rawRequest(port: number, request: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (c) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1')
      const end = raw.indexOf('\r\n\r\n')
      if (end < 0) return reject(new Error(`no complete answer: ${JSON.stringify(raw)}`))
      const [statusLine, ...lines] = raw.slice(0, end).split('\r\n')
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        headers: lines.map((l) => {
          const i = l.indexOf(':')
          return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as [string, string]
        }),
        body: raw.slice(end + 4),
        raw,
      })
    })
    socket.write(request)
  })
}

/**
 * A WebSocket upgrade request written by hand on a TCP socket to 127.0.0.1:`port`, and whatever the
 * server answers until it closes the connection (a refusal ends with `Connection: close`).
 */
export function rawUpgrade(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const extra = Object.entries(headers)
    .map(([n, v]) => `${n}: ${v}\r\n`)
    .join('')
  return rawRequest(
    port,
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  )
}
