import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '../src/config.js'
import { createDatabase } from '../src/platform/db/database.js'
import { hashPassword } from '../src/platform/auth/password-hash.js'
import { childEnv } from './fixtures/child-env.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import {
  adminHeaders,
  createCampaign,
  DIALECTS,
  freshPostgres,
  guestToken,
  json,
  suiteApp,
  uniqueSlug,
} from './helper.js'
import { personWithRole } from './people-fixtures.js'
import { migratedDataDir } from './fixtures/migrated-data-dir.js'

/**
 * Issue 7: a person may hold the editor or admin role (stored on their row, migration 035), granted
 * by an admin key, an admin person (`PUT /api/user/{id}/role`) or the CLI (`ovasabi user role`).
 * Their login carries it, every editor/admin route honours it as it honours a key of that role,
 * and lowering it cuts off the tokens issued under the stronger one.
 */

let networks = 0
/** A client network of its own per request, so no login spends another's rate budget. */
const network = () => `10.${30 + (++networks >> 8)}.${networks % 256}.9`

const password = 'correct horse battery staple'

async function login(app: FastifyInstance, email: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'x-forwarded-for': network() },
    payload: { email, password },
  })
  assert.equal(res.statusCode, 200, res.body)
  return json(res).token as string
}

function setRole(app: FastifyInstance, id: string, role: string, headers: Record<string, string>) {
  return app.inject({ method: 'PUT', url: `/api/user/${id}/role`, headers, payload: { role } })
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A GET by the holder of `token`. */
const get = (app: FastifyInstance, url: string, token: string) => app.inject({ url, headers: bearer(token) })

async function roles(app: FastifyInstance, token: string) {
  const me = await get(app, '/api/auth/me', token)
  assert.equal(me.statusCode, 200, me.body)
  return json(me).roles as string[]
}

for (const dialect of DIALECTS) {
  describe(`people with console roles (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('stores participant for a new person; the column refuses an unknown role', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await personWithRole(app, slug, 'participant', { name: 'Ada', password })
      assert.deepEqual(await roles(app, ada.token), ['participant'])
      const db = app.platform.database.db
      const row = await db
        .selectFrom('service_user_master')
        .select('role')
        .where('id', '=', ada.id)
        .executeTakeFirstOrThrow()
      assert.equal(row.role, 'participant')
      await assert.rejects(
        db
          .updateTable('service_user_master')
          .set({ role: 'root' as 'admin' })
          .where('id', '=', ada.id)
          .execute(),
      )
    })

    it('an admin key grants editor: the next login carries it and editor routes take it, admin routes do not', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const eve = await personWithRole(app, slug, 'participant', { name: 'Eve', password })
      // Before the grant: a participant is refused on an editor route.
      const before = await get(app, `/api/campaign/${slug}/audit`, eve.token)
      assert.equal(before.statusCode, 403, before.body)

      const granted = await setRole(app, eve.id, 'editor', adminHeaders)
      assert.equal(granted.statusCode, 200, granted.body)
      assert.equal(json(granted).id, eve.id)
      assert.equal(json(granted).role, 'editor')

      const token = await login(app, eve.email)
      assert.deepEqual(await roles(app, token), ['editor'])
      const audit = await get(app, `/api/campaign/${slug}/audit`, token)
      assert.equal(audit.statusCode, 200, audit.body)
      const patched = await app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...bearer(token), 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify({ title: 'Renamed by an editor' }),
      })
      assert.equal(patched.statusCode, 200, patched.body)
      const hooks = await get(app, `/api/campaign/${slug}/webhooks`, token)
      assert.equal(hooks.statusCode, 403, hooks.body)
      const graph = await get(app, '/api/amadeus/graph', token)
      assert.equal(graph.statusCode, 403, graph.body)
      // An editor grants nothing, not even to themself.
      const self = await setRole(app, eve.id, 'admin', bearer(token))
      assert.equal(self.statusCode, 403, self.body)
      const other = await personWithRole(app, slug, 'participant', { name: 'Oscar', password })
      assert.equal((await setRole(app, other.id, 'editor', bearer(token))).statusCode, 403)
      assert.equal((await setRole(app, other.id, 'editor', bearer(other.token))).statusCode, 403)
    })

    it('an admin person grants and reads admin routes; unknown people are 404, unknown roles 400', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const { token } = await personWithRole(app, slug, 'admin', { name: 'Root', password })
      assert.deepEqual(await roles(app, token), ['admin'])
      const hooks = await get(app, `/api/campaign/${slug}/webhooks`, token)
      assert.equal(hooks.statusCode, 200, hooks.body)

      const bob = await personWithRole(app, slug, 'participant', { name: 'Bob', password })
      const granted = await setRole(app, bob.id, 'editor', bearer(token))
      assert.equal(granted.statusCode, 200, granted.body)
      const missing = await setRole(app, 'usr_nobody', 'editor', bearer(token))
      assert.equal(missing.statusCode, 404, missing.body)
      assert.equal(json(missing).error.code, 'USER_NOT_FOUND')
      const bad = await setRole(app, bob.id, 'guest', bearer(token))
      assert.equal(bad.statusCode, 400, bad.body)
      const anon = await setRole(app, bob.id, 'admin', {})
      assert.equal(anon.statusCode, 401, anon.body)
      // A repeat join with the password carries the stored role too.
      const again = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { 'x-forwarded-for': network() },
        payload: { campaign: slug, name: 'Bob', email: bob.email, password },
      })
      assert.equal(again.statusCode, 200, again.body)
      assert.deepEqual(await roles(app, json(again).token), ['editor'])
      // An erased person is no one to grant a role to.
      const erased = await app.inject({ method: 'DELETE', url: `/api/user/${bob.id}`, headers: adminHeaders })
      assert.equal(erased.statusCode, 200, erased.body)
      assert.equal((await setRole(app, bob.id, 'admin', adminHeaders)).statusCode, 404)
    })

    it('lowering a role cuts off the tokens issued under the stronger one', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const mia = await personWithRole(app, slug, 'admin', { name: 'Mia', password })
      const adminToken = mia.token
      const graph = () => get(app, '/api/amadeus/graph', adminToken)
      assert.equal((await graph()).statusCode, 200)

      const lowered = await setRole(app, mia.id, 'editor', adminHeaders)
      assert.equal(lowered.statusCode, 200, lowered.body)
      assert.ok(json(lowered).tokens_valid_after, 'a lowered role says from when tokens count')
      const stale = await graph()
      assert.equal(stale.statusCode, 401, stale.body)
      assert.equal(json(stale).error.code, 'TOKEN_REVOKED')
      const stillAudit = await get(app, `/api/campaign/${slug}/audit`, adminToken)
      assert.equal(
        stillAudit.statusCode,
        401,
        'the old token is refused everywhere, not only on admin routes',
      )
      const editorToken = await login(app, mia.email)
      assert.deepEqual(await roles(app, editorToken), ['editor'])
      // Raising keeps the tokens (they carry less than the person now holds); setting the same
      // role again cuts nothing off.
      assert.equal((await setRole(app, mia.id, 'editor', adminHeaders)).statusCode, 200)
      assert.deepEqual(await roles(app, editorToken), ['editor'])
      const raised = await setRole(app, mia.id, 'admin', adminHeaders)
      assert.equal(raised.statusCode, 200)
      assert.equal(json(raised).tokens_valid_after, undefined)
      assert.deepEqual(await roles(app, editorToken), ['editor'])
    })

    it('the last admin person cannot lower their own role; with another admin they can', async () => {
      const { app } = suite
      const db = app.platform.database.db
      // Only this test's people are admins.
      await db
        .updateTable('service_user_master')
        .set({ role: 'participant' })
        .where('role', '=', 'admin')
        .execute()
      const slug = await createCampaign(app)
      const solo = await personWithRole(app, slug, 'admin', { name: 'Solo', password })
      const token = solo.token
      const refused = await setRole(app, solo.id, 'participant', bearer(token))
      assert.equal(refused.statusCode, 409, refused.body)
      assert.equal(json(refused).error.code, 'LAST_ADMIN')
      assert.deepEqual(await roles(app, token), ['admin'], 'nothing was cut off')

      const duo = await personWithRole(app, slug, 'participant', { name: 'Duo', password })
      assert.equal((await setRole(app, duo.id, 'admin', bearer(token))).statusCode, 200)
      const stepped = await setRole(app, solo.id, 'participant', bearer(token))
      assert.equal(stepped.statusCode, 200, stepped.body)
      const after = await get(app, '/api/auth/me', token)
      assert.equal(after.statusCode, 401)
      // An admin key may lower the last admin person (keys are admins too).
      assert.equal((await setRole(app, duo.id, 'participant', adminHeaders)).statusCode, 200)
    })

    it('gives no console role to a person without a password, whose only credential is a guest session', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const guest = await guestToken(app)
      const joined = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { ...bearer(guest.token), 'x-forwarded-for': network() },
        payload: { campaign: slug, name: 'Nopass', email: `nopass.${uniqueSlug('p')}@example.org` },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      const { id } = json(joined).user
      for (const role of ['editor', 'admin']) {
        const res = await setRole(app, id, role, adminHeaders)
        assert.equal(res.statusCode, 409, res.body)
        assert.equal(json(res).error.code, 'PASSWORD_REQUIRED')
      }
      assert.deepEqual(await roles(app, json(joined).token), ['participant'])
      assert.equal((await setRole(app, id, 'participant', adminHeaders)).statusCode, 200)
    })

    it('guests are refused on editor routes', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const guest = await guestToken(app)
      const res = await get(app, `/api/campaign/${slug}/audit`, guest.token)
      assert.equal(res.statusCode, 403)
    })
  })
}

/** `ovasabi …` as an operator runs it, against `env`'s database only (no Redis). */
function cli(args: string[], env: Record<string, string>, input = '') {
  const { status, stdout, stderr } = spawnSync(process.execPath, ['bin/ovasabi.js', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: childEnv(env),
    input,
  })
  return { code: status, out: stdout, err: stderr }
}

/** A person's token cut-off, read straight from the database `env` names. */
async function tokensValidAfter(env: Record<string, string>, id: string): Promise<Date | null | undefined> {
  const database = await createDatabase(loadConfig(env))
  try {
    const row = await database.db
      .selectFrom('service_user_master')
      .select('tokens_valid_after')
      .where('id', '=', id)
      .executeTakeFirst()
    return row?.tokens_valid_after
  } finally {
    await database.close()
  }
}

for (const dialect of DIALECTS) {
  describe(`ovasabi user role and password (${dialect})`, () => {
    it('grants a role by email, prints JSON, refuses unknown emails and roles; sets a password from standard input', async () => {
      const DATA_DIR = await migratedDataDir('ovasabi-cli-role-')
      const pg = dialect === 'postgres' ? await freshPostgres() : undefined
      const env = { DATA_DIR, ...(pg ? { DATABASE_URL: pg.url } : {}) }
      try {
        const database = await createDatabase(loadConfig(env))
        try {
          await migrateToLatest(database.db)
          await database.db
            .insertInto('service_user_master')
            .values([
              {
                id: 'usr_cli1',
                email: 'ops@example.org',
                display_name: 'Ops',
                password_hash: await hashPassword(password),
                metadata: JSON.stringify({}),
                updated_at: new Date(),
              },
              {
                id: 'usr_cli2',
                email: 'nopass@example.org',
                display_name: 'No password',
                metadata: JSON.stringify({}),
                updated_at: new Date(),
              },
            ])
            .execute()
        } finally {
          await database.close()
        }
        const granted = cli(['user', 'role', '--email', 'Ops@Example.org', '--role', 'admin', '--json'], env)
        assert.equal(granted.code, 0, granted.err)
        assert.deepEqual(JSON.parse(granted.out), {
          id: 'usr_cli1',
          email: 'ops@example.org',
          role: 'admin',
          previous_role: 'participant',
        })
        const lowered = cli(['user', 'role', '--email', 'ops@example.org', '--role', 'editor'], env)
        assert.equal(lowered.code, 0, lowered.err)
        assert.match(lowered.out, /ops@example\.org.*editor/)
        assert.match(lowered.out, /signed out/)
        const unknown = cli(['user', 'role', '--email', 'nobody@example.org', '--role', 'admin'], env)
        assert.equal(unknown.code, 1)
        assert.match(unknown.err, /USER_NOT_FOUND/)
        const nopass = cli(['user', 'role', '--email', 'nopass@example.org', '--role', 'editor'], env)
        assert.equal(nopass.code, 1)
        assert.match(nopass.err, /PASSWORD_REQUIRED/)
        const badRole = cli(['user', 'role', '--email', 'ops@example.org', '--role', 'root'], env)
        assert.equal(badRole.code, 2)
        assert.match(badRole.err, /--role must be one of participant, editor, admin/)

        // `user password`: from standard input, the join's strength rule, every session ended.
        const cutOffBefore = await tokensValidAfter(env, 'usr_cli2')
        const weak = cli(['user', 'password', '--email', 'nopass@example.org'], env, 'short\n')
        assert.equal(weak.code, 1)
        assert.match(weak.err, /WEAK_PASSWORD/)
        assert.match(weak.err, /- must be at least 10 characters/)
        const set = cli(['user', 'password', '--email', 'NoPass@example.org'], env, `${password}\nignored\n`)
        assert.equal(set.code, 0, set.err)
        assert.match(set.out, /usr_cli2 nopass@example\.org: password set; signed out everywhere/)
        const after = await tokensValidAfter(env, 'usr_cli2')
        assert.ok(after && (!cutOffBefore || after > cutOffBefore), 'its tokens cut off')
        const now = cli(['user', 'role', '--email', 'nopass@example.org', '--role', 'editor'], env)
        assert.equal(now.code, 0, `a console role needs a password, which it now has: ${now.err}`)
        const nobody = cli(['user', 'password', '--email', 'nobody@example.org'], env, `${password}\n`)
        assert.equal(nobody.code, 1)
        assert.match(nobody.err, /USER_NOT_FOUND/)
      } finally {
        await pg?.drop()
      }
    })
  })
}
