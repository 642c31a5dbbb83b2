import assert from 'node:assert/strict'
import { randomBytes, scrypt } from 'node:crypto'
import { describe, it } from 'node:test'
import { usePasswordCost, verifyPassword } from '../../src/platform/auth/password-hash.js'
import { DIALECTS, json, suiteApp } from '../helper.js'
import { account, PASSWORD } from './helpers.js'

/**
 * StreamSource registry accounts hash their passwords as people's are (QA 31: scrypt N=2^14, r=8,
 * p=5, `platform/auth/password-hash.ts`); a hash stored before (p=1, a 64-byte key in base64url)
 * still verifies and is made again under the new parameters at the account's next login, without
 * cutting off its tokens.
 */

// These suites are about the real parameters: not the least cost the test helper sets.
usePasswordCost('standard')

/** A hash as the registry stored them before QA 31. */
async function oldHash(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(
      password.normalize('NFKC'),
      salt,
      64,
      { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 },
      (e, k) => (e ? reject(e) : resolve(k)),
    ),
  )
  return `scrypt$16384$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`
}

for (const dialect of DIALECTS) {
  describe(`StreamSource account passwords (${dialect})`, () => {
    const suite = suiteApp({ dialect })
    const db = () => suite.app.platform.database.db
    const stored = async (id: number) =>
      (
        await db()
          .selectFrom('service_stream_user')
          .select(['password_hash', 'tokens_valid_after'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).password_hash
    const login = (email: string, password: string) =>
      suite.app.inject({ method: 'POST', url: '/api/v1/users/login', payload: { email, password } })

    it('hashes a new account under the current parameters', async () => {
      const a = await account(suite.app, 'default')
      assert.match(await stored(a.id), /^scrypt\$16384\$8\$5\$/)
    })

    it('verifies an account stored under the old parameters and stores a new hash at its login', async () => {
      const a = await account(suite.app, 'default')
      const before = await oldHash(PASSWORD)
      await db()
        .updateTable('service_stream_user')
        .set({ password_hash: before })
        .where('id', '=', a.id)
        .execute()

      const wrong = await login(a.email, 'Wr0ngPassword')
      assert.equal(wrong.statusCode, 401, wrong.body)
      assert.equal(await stored(a.id), before, 'a wrong password changes nothing')

      const res = await login(a.email, PASSWORD)
      assert.equal(res.statusCode, 200, res.body)
      const after = await stored(a.id)
      assert.match(after, /^scrypt\$16384\$8\$5\$/)
      assert.ok(await verifyPassword(PASSWORD, after))
      assert.ok(await verifyPassword(PASSWORD, before), 'the old hash verifies as before')
      // The password is the same: the token issued before the rehash still works.
      const me = await suite.app.inject({ url: '/api/v1/streams', headers: a.headers })
      assert.equal(me.statusCode, 200, me.body)
      // And the account logs in with the new hash.
      const again = await login(a.email, PASSWORD)
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(await stored(a.id), after, 'a current hash is not made again')
      assert.ok(json(again).token)
    })
  })
}
