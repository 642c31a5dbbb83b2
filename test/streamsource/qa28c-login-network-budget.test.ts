import assert from 'node:assert/strict'
import { randomBytes, randomInt } from 'node:crypto'
import { describe, it } from 'node:test'
import { DIALECTS, REDIS_URL, suiteApp } from '../helper.js'
import { PASSWORD } from './helpers.js'

/**
 * The 30 logins a client network had per 15 minutes counted successful ones too: an office of more
 * than 30 operators behind one NAT, or an updater logging in often, was refused 429 although
 * nobody guessed anything. The per-network budget guards against guessing, so a login that
 * succeeds gives its attempt back; wrong passwords still spend it.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource login budget per network (${dialect})`, {
    skip: !REDIS_URL && 'REDIS_URL not set',
  }, () => {
    // Redis: the counter every node shares, as deployed.
    const suite = suiteApp({ dialect, redis: true })
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
      const email = `net_${randomBytes(5).toString('hex')}@example.com`
      const res = await suite.app.inject({
        method: 'POST',
        url: '/api/v1/signup',
        headers: { 'x-forwarded-for': network() },
        payload: { user: { email, password: PASSWORD, password_confirmation: PASSWORD } },
      })
      assert.equal(res.statusCode, 201, res.body)
      return email
    }
    /** The login windows are 15 minutes aligned to the clock: each run starts with 30 s of one left. */
    const awayFromWindowEnd = async () => {
      const left = 15 * 60_000 - (Date.now() % (15 * 60_000))
      if (left < 30_000) await new Promise((r) => setTimeout(r, left + 50))
    }

    it('more than 30 operators behind one NAT all log in', async () => {
      const emails: string[] = []
      for (let i = 0; i < 32; i++) emails.push(await signUp())
      await awayFromWindowEnd()
      const office = network()
      const statuses: number[] = []
      for (const [i, email] of emails.entries())
        statuses.push((await login(office, email, PASSWORD, i % 2 ? '/api/v1/login' : undefined)).statusCode)
      // An updater on the same network logging in again and again.
      for (let i = 0; i < 5; i++) statuses.push((await login(office, emails[0]!, PASSWORD)).statusCode)
      assert.deepEqual(statuses, Array(37).fill(200))
    })

    it('wrong passwords still spend the network budget, successes in between or not', async () => {
      const emails: string[] = []
      for (let i = 0; i < 4; i++) emails.push(await signUp())
      await awayFromWindowEnd()
      const office = network()
      const statuses: number[] = []
      // 30 wrong guesses over three emails (ten each, within their own budgets), a success after
      // the first ten and the next: the successes are given back, so the guesses alone spend the 30.
      for (let i = 0; i < 30; i++) {
        statuses.push((await login(office, emails[i % 3]!, `Wrong${i}abcd`)).statusCode)
        if (i === 9 || i === 19) statuses.push((await login(office, emails[3]!, PASSWORD)).statusCode)
      }
      const expected = [...Array(10).fill(401), 200, ...Array(10).fill(401), 200, ...Array(10).fill(401)]
      assert.deepEqual(statuses, expected)
      // The budget is spent by guesses alone: the next attempt is refused before its password is
      // checked, the right one included.
      assert.equal((await login(office, emails[0]!, `Wrong99abcd`)).statusCode, 429)
      const refused = await login(office, emails[3]!, PASSWORD)
      assert.equal(refused.statusCode, 429, refused.body)
      assert.match(String(refused.headers['retry-after']), /^\d+$/)
    })
  })
}
