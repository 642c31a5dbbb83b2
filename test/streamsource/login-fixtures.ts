import assert from 'node:assert/strict'
import { randomBytes, randomInt } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { PASSWORD } from './helpers.js'

/** The StreamSource login-limit tests' moves, against one suite's app (`suiteApp`). */
export function loginMoves(suite: { readonly app: FastifyInstance }, emailPrefix: string) {
  /** A network of its own per call (10.a.b.0/24 addresses are each their own IPv4 network). */
  const network = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`
  const login = (ip: string, email: string, password: string, url = '/api/v1/users/login') =>
    suite.app.inject({
      method: 'POST',
      url,
      headers: { 'x-forwarded-for': ip },
      payload: url === '/api/v1/login' ? { user: { email, password } } : { email, password },
    })
  /** A new account's email, signed up (which logs in uncounted) from a network of its own. */
  const signUp = async () => {
    const email = `${emailPrefix}_${randomBytes(5).toString('hex')}@example.com`
    const res = await suite.app.inject({
      method: 'POST',
      url: '/api/v1/signup',
      headers: { 'x-forwarded-for': network() },
      payload: { user: { email, password: PASSWORD, password_confirmation: PASSWORD } },
    })
    assert.equal(res.statusCode, 201, res.body)
    return email
  }
  /**
   * The login windows are 15 minutes aligned to the clock: a run straddling an end would be
   * counted in two, so each starts with at least 30 s of its window left.
   */
  const awayFromWindowEnd = async () => {
    const left = 15 * 60_000 - (Date.now() % (15 * 60_000))
    if (left < 30_000) await new Promise((r) => setTimeout(r, left + 50))
  }
  return { network, login, signUp, awayFromWindowEnd }
}
