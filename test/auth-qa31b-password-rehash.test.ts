import assert from 'node:assert/strict'
import { randomBytes, scrypt } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import {
  hardening,
  hashPassword,
  needsRehash,
  usePasswordCost,
  verifyPassword,
} from '../src/platform/auth/password-hash.js'
import { createCampaign, DIALECTS, json, suiteApp, uniqueSlug } from './helper.js'

/**
 * QA 31b: passwords are hashed with scrypt N=2^14, r=8, p=5 (OWASP's setting of 16 MiB), the
 * parameters in the stored string. A hash stored under the earlier N=2^14, r=8, p=1 still lets its
 * owner in, and their login stores it again under the new parameters; a hash that cannot be stored
 * then never fails the login.
 */

// These suites are about the real parameters: not the least cost the test helper sets.
usePasswordCost('standard')

const PASSWORD = 'correct horse battery staple'
let networks = 0
/** A client network of its own per request, so no login spends another's rate budget. */
const network = () => `10.31.${++networks}.2`

/** A hash as stored before QA 31: `scrypt$16384$8$1$salt$key`, made here by node:crypto itself. */
function legacyHash(password: string): Promise<string> {
  const salt = randomBytes(16)
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, 32, { N: 1 << 14, r: 8, p: 1, maxmem: 64 << 20 }, (err, key) =>
      err
        ? reject(err)
        : resolve(['scrypt', 16384, 8, 1, salt.toString('base64'), key.toString('base64')].join('$')),
    ),
  )
}

async function join(app: FastifyInstance, slug: string) {
  const email = `${uniqueSlug('rehash')}@example.org`
  const res = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: { 'x-forwarded-for': network() },
    payload: { campaign: slug, name: 'Ada', email, password: PASSWORD },
  })
  assert.equal(res.statusCode, 201, res.body)
  return { id: json(res).user.id as string, email }
}

function login(app: FastifyInstance, email: string, password = PASSWORD) {
  return app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'x-forwarded-for': network() },
    payload: { email, password },
  })
}

async function storedHash(app: FastifyInstance, id: string): Promise<string> {
  const row = await app.platform.database.db
    .selectFrom('service_user_master')
    .select('password_hash')
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
  return row.password_hash!
}

function storeHash(app: FastifyInstance, id: string, hash: string) {
  return app.platform.database.db
    .updateTable('service_user_master')
    .set({ password_hash: hash })
    .where('id', '=', id)
    .execute()
}

describe('password hashes', () => {
  it('are made with N=2^14, r=8, p=5, the parameters in the stored string', async () => {
    const hash = await hashPassword(PASSWORD)
    assert.match(hash, /^scrypt\$16384\$8\$5\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/)
    assert.equal(needsRehash(hash), false)
    assert.equal(await verifyPassword(PASSWORD, hash), true)
    assert.equal(await verifyPassword(`${PASSWORD}!`, hash), false)
  })

  it('made under the earlier parameters still verify, and need making again', async () => {
    const old = await legacyHash(PASSWORD)
    assert.equal(await verifyPassword(PASSWORD, old), true)
    assert.equal(await verifyPassword('wrong horse battery staple', old), false)
    assert.equal(needsRehash(old), true)
  })

  it('of fewer lanes spend the lanes they lack on a wrong password, so no account answers faster', async () => {
    // An unknown email is checked at the new parameters; a stored p=1 hash checks in a fifth of
    // that, so its failed check runs the four missing lanes too.
    assert.deepEqual(hardening(await legacyHash(PASSWORD)), { N: 16384, r: 8, p: 4 })
    assert.equal(hardening(await hashPassword(PASSWORD)), undefined)
    assert.equal(hardening('scrypt$32768$8$1$c2FsdA==$a2V5'), undefined, 'other N: not lanes')
    assert.equal(hardening('bcrypt$whatever'), undefined)
  })
})

for (const dialect of DIALECTS) {
  describe(`rehash at login (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('a person stored with an old-parameter hash logs in, and the new hash is stored', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await join(app, slug)
      assert.match(
        await storedHash(app, ada.id),
        /^scrypt\$16384\$8\$5\$/,
        'a join stores the new parameters',
      )
      const old = await legacyHash(PASSWORD)
      await storeHash(app, ada.id, old)

      const wrong = await login(app, ada.email, 'wrong horse battery staple')
      assert.equal(wrong.statusCode, 401, wrong.body)
      assert.equal(json(wrong).error.code, 'INVALID_CREDENTIALS')
      assert.equal(await storedHash(app, ada.id), old, 'a wrong password changes nothing')

      const ok = await login(app, ada.email)
      assert.equal(ok.statusCode, 200, ok.body)
      const rehashed = await storedHash(app, ada.id)
      assert.match(rehashed, /^scrypt\$16384\$8\$5\$/)
      assert.notEqual(rehashed, old)
      assert.equal(await verifyPassword(PASSWORD, rehashed), true)
      assert.equal(await verifyPassword(PASSWORD, old), true)

      // Logging in again with the new hash keeps it; the wrong password is still refused.
      const again = await login(app, ada.email)
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(await storedHash(app, ada.id), rehashed)
      const wrongAfter = await login(app, ada.email, 'wrong horse battery staple')
      assert.equal(wrongAfter.statusCode, 401, wrongAfter.body)
      assert.equal(json(wrongAfter).error.code, 'INVALID_CREDENTIALS')
    })

    it('a repeat join with the password rehashes too', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await join(app, slug)
      await storeHash(app, ada.id, await legacyHash(PASSWORD))
      const again = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { 'x-forwarded-for': network() },
        payload: { campaign: slug, name: 'Ada', email: ada.email, password: PASSWORD },
      })
      assert.equal(again.statusCode, 200, again.body)
      assert.match(await storedHash(app, ada.id), /^scrypt\$16384\$8\$5\$/)
    })

    it('a rehash that cannot be stored never fails the login', async () => {
      const { app } = suite
      const db = app.platform.database.db
      const slug = await createCampaign(app)
      const ada = await join(app, slug)
      const old = await legacyHash(PASSWORD)
      await storeHash(app, ada.id, old)
      // The database refuses any change of this person's hash, as a failing store would.
      await sql`
        create function qa31b_refuse_rehash() returns trigger language plpgsql as $$
        begin
          if new.password_hash is distinct from old.password_hash then
            raise exception 'qa31b: password hash is read-only';
          end if;
          return new;
        end $$`.execute(db)
      await sql`
        create trigger qa31b_refuse_rehash before update on service_user_master
        for each row when (old.id = ${sql.lit(ada.id)}) execute function qa31b_refuse_rehash()`.execute(db)
      try {
        const ok = await login(app, ada.email)
        assert.equal(ok.statusCode, 200, ok.body)
        assert.ok(json(ok).token)
        assert.equal(await storedHash(app, ada.id), old, 'the old hash stays, and still lets them in')
        const wrong = await login(app, ada.email, 'wrong horse battery staple')
        assert.equal(wrong.statusCode, 401, wrong.body)
      } finally {
        await sql`drop trigger qa31b_refuse_rehash on service_user_master`.execute(db)
        await sql`drop function qa31b_refuse_rehash()`.execute(db)
      }
      const later = await login(app, ada.email)
      assert.equal(later.statusCode, 200, later.body)
      assert.match(await storedHash(app, ada.id), /^scrypt\$16384\$8\$5\$/, 'the next login stores it')
    })
  })
}
