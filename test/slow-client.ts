import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'

/**
 * A raw HTTP client for the timeout tests: it sends what it is told, when it is told, and reports
 * what it received once the server closed the connection. Outcomes are awaited, never timed.
 */

/** How long a test waits for an outcome before it calls it missing. */
export const DEADLINE_MS = 20_000

export interface Answer {
  status?: number
  headers: Record<string, string>
  body?: any
}

/** A raw connection: what it received by the time the server closed it. */
export function open(port: number): { socket: Socket; closed: Promise<Answer> } {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (c) => chunks.push(c))
  socket.on('error', () => {})
  const closed = new Promise<Answer>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('the server never closed the connection'))
    }, DEADLINE_MS)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(parse(Buffer.concat(chunks).toString()))
    })
  })
  return { socket, closed }
}

function parse(text: string): Answer {
  if (!text) return { headers: {} }
  const [head, body] = text.split('\r\n\r\n', 2) as [string, string | undefined]
  const [status, ...lines] = head.split('\r\n')
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  )
  return { status: Number(status!.split(' ')[1]), headers, body: body ? JSON.parse(body) : undefined }
}

/**
 * `answer` is the standard error body with `status` and `code`, carrying the request's id (as its
 * `x-request-id` header does), and the connection was closed after it.
 */
export function assertClosedWith(answer: Answer, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer))
  assert.equal(answer.body.status, 'error')
  assert.equal(answer.body.error.code, code)
  assert.equal(typeof answer.body.request_id, 'string')
  assert.equal(answer.body.request_id, answer.headers['x-request-id'])
  assert.equal(answer.headers.connection, 'close')
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Writes `bytes` in pieces of `piece` bytes, one every `everyMs`, while the server listens. */
export async function trickle(socket: Socket, bytes: Buffer, piece: number, everyMs: number): Promise<void> {
  for (let offset = 0; offset < bytes.length && socket.writable; offset += piece) {
    await sleep(everyMs)
    socket.write(bytes.subarray(offset, offset + piece))
  }
}

/** Resolves once `check` holds; throws when it has not by `DEADLINE_MS`. */
export async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + DEADLINE_MS
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await sleep(20)
  }
}
