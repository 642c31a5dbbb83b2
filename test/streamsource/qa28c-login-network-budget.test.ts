import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DIALECTS, REDIS_URL, suiteApp } from '../helper.js'
import { PASSWORD } from './helpers.js'
import { loginMoves } from './login-fixtures.js'

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
    const { network, login, signUp, awayFromWindowEnd } = loginMoves(suite, 'net')

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
