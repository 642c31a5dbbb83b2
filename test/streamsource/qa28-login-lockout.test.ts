import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { describe, it } from 'node:test'
import { DIALECTS, json, REDIS_URL, suiteApp } from '../helper.js'
import { PASSWORD } from './helpers.js'
import { loginMoves } from './login-fixtures.js'

/**
 * Ten wrong passwords for one email locked that account for the rest of its 15-minute window from
 * every network: anyone who knew an operator's email could keep them out of the registry for good
 * by guessing wrong ten times a quarter hour. The lockout is now per email and client network
 * (an IPv6 client's /64), as the platform's own logins are; a ceiling per email over all networks
 * (100 a window) still stops a guesser spread over many, and takes ten networks, not one, to reach.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource login lockout (${dialect})`, { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
    // Redis: the counter every node shares, as deployed.
    const suite = suiteApp({ dialect, redis: true })
    const { network, login, signUp, awayFromWindowEnd } = loginMoves(suite, 'lock')

    it("wrong guesses from one network lock out that network only; the owner's still logs in", async () => {
      const owner = { email: await signUp() }
      await awayFromWindowEnd()
      const attacker = network()
      const statuses: number[] = []
      for (let i = 0; i < 11; i++) {
        const url = i % 2 ? '/api/v1/login' : '/api/v1/users/login'
        statuses.push((await login(attacker, owner.email, `Wrong${i}abcd`, url)).statusCode)
      }
      assert.deepEqual(statuses, [...Array(10).fill(401), 429])
      const refused = await login(attacker, owner.email, PASSWORD)
      assert.equal(refused.statusCode, 429, 'the right password from the locked network is still refused')
      assert.equal(json(refused).error, 'Too many requests. Please try again later.')
      assert.match(String(refused.headers['retry-after']), /^\d+$/)

      // The same email typed otherwise is the same budget on that network.
      assert.equal((await login(attacker, ` ${owner.email.toUpperCase()} `, 'Wrong99abcd')).statusCode, 429)

      const home = await login(network(), owner.email, PASSWORD)
      assert.equal(home.statusCode, 200, home.body)
      assert.ok(json(home).token)
    })

    it('an IPv6 client is one network per /64, whatever address in it it sends from', async () => {
      const owner = { email: await signUp() }
      await awayFromWindowEnd()
      const prefix = `2001:db8:${randomInt(0x10000).toString(16)}:${randomInt(0x10000).toString(16)}`
      const statuses: number[] = []
      for (let i = 1; i <= 11; i++)
        statuses.push((await login(`${prefix}::${i.toString(16)}`, owner.email, `Wrong${i}abcd`)).statusCode)
      assert.deepEqual(statuses, [...Array(10).fill(401), 429])
      const home = await login(`${prefix.replace(/:[^:]+$/, ':ffff')}::1`, owner.email, PASSWORD)
      assert.equal(home.statusCode, 200, home.body)
    })

    it("a login that succeeds forgets its network's guesses: an updater logging in often never locks itself out", async () => {
      const owner = { email: await signUp() }
      await awayFromWindowEnd()
      const office = network()
      const statuses: number[] = []
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 5; i++)
          statuses.push((await login(office, owner.email, `Typo${round}x${i}ab`)).statusCode)
        statuses.push((await login(office, owner.email, PASSWORD)).statusCode)
      }
      assert.deepEqual(statuses, [
        ...Array(5).fill(401),
        200,
        ...Array(5).fill(401),
        200,
        ...Array(5).fill(401),
        200,
      ])
    })

    it('still refuses a guesser spread over many networks once the email has had 100 tries', async () => {
      const owner = { email: await signUp() }
      await awayFromWindowEnd()
      const statuses: number[] = []
      // Ten networks, each within its own budget of ten: the email's ceiling is what refuses.
      for (let n = 0; n < 10; n++) {
        const ip = network()
        for (let i = 0; i < 10; i++)
          statuses.push((await login(ip, owner.email, `Wrong${n}x${i}ab`)).statusCode)
      }
      assert.deepEqual(statuses, Array(100).fill(401))
      const next = await login(network(), owner.email, PASSWORD)
      assert.equal(next.statusCode, 429, next.body)
      assert.match(String(next.headers['retry-after']), /^\d+$/)
    })
  })
}
