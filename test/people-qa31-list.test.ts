import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { adminHeaders, createCampaign, DIALECTS, json, suiteApp, uniqueSlug } from './helper.js'

/**
 * `GET /api/users` (admin): the people an admin finds to give a role (the console's People page).
 * Newest first, filtered by role and by text in the address or name, paged by the last id seen
 * with `has_more`; erased people and every secret (password hash, consent, metadata) left out.
 */

let networks = 0
/** A client network of its own per join, so no join spends another's rate budget. */
const network = () => `10.${60 + (++networks >> 8)}.${networks % 256}.7`

const password = 'correct horse battery staple'

async function join_(app: FastifyInstance, slug: string, name: string, email: string, withPassword = true) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: { 'x-forwarded-for': network() },
    payload: { campaign: slug, name, email, ...(withPassword ? { password } : {}) },
  })
  assert.equal(res.statusCode, 201, res.body)
  return { id: json(res).user.id as string, token: json(res).token as string }
}

const list = (app: FastifyInstance, query: string, headers: Record<string, string> = adminHeaders) =>
  app.inject({ url: `/api/users${query}`, headers })

for (const dialect of DIALECTS) {
  describe(`GET /api/users (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('lists people newest first, by role and text, paged without repeats or an empty last page', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const tag = uniqueSlug('ppl').replace(/[^a-z0-9]/g, '')
      const ada = await join_(app, slug, 'Ada Lovelace', `ada.${tag}@example.org`)
      const bob = await join_(app, slug, 'Bob 50%_off', `bob.${tag}@example.org`, false)
      const cy = await join_(app, slug, 'Cy', `cy.${tag}@example.org`)
      const set = await app.inject({
        method: 'PUT',
        url: `/api/user/${cy.id}/role`,
        headers: adminHeaders,
        payload: { role: 'editor' },
      })
      assert.equal(set.statusCode, 200, set.body)

      const all = await list(app, `?q=${tag}`)
      assert.equal(all.statusCode, 200, all.body)
      const body = json(all)
      assert.deepEqual(
        body.people.map((p: { id: string }) => p.id),
        [cy.id, bob.id, ada.id],
      )
      assert.equal(body.has_more, false)
      const cyRow = body.people[0]
      assert.deepEqual(Object.keys(cyRow).sort(), [
        'created_at',
        'display_name',
        'email',
        'email_verified_at',
        'has_password',
        'id',
        'role',
      ])
      assert.equal(cyRow.role, 'editor')
      assert.equal(cyRow.email, `cy.${tag}@example.org`)
      assert.equal(body.people[1].has_password, false)
      assert.equal(body.people[2].has_password, true)
      assert.doesNotMatch(all.body, /scrypt|password_hash|consent/)

      // Role filter, and text in the name: `%` and `_` are the characters, not wildcards.
      const editors = json(await list(app, `?q=${tag}&role=editor`))
      assert.deepEqual(
        editors.people.map((p: { id: string }) => p.id),
        [cy.id],
      )
      const byName = json(await list(app, `?q=${encodeURIComponent('50%_off')}`))
      assert.deepEqual(
        byName.people.map((p: { id: string }) => p.id),
        [bob.id],
      )
      const wildcard = json(await list(app, `?q=${encodeURIComponent(`%${tag}_`)}`))
      assert.deepEqual(wildcard.people, [])

      // Pages of two: the first says more follow, the second ends the list with `has_more` false.
      const first = json(await list(app, `?q=${tag}&per_page=2`))
      assert.deepEqual(
        first.people.map((p: { id: string }) => p.id),
        [cy.id, bob.id],
      )
      assert.equal(first.has_more, true)
      const second = json(await list(app, `?q=${tag}&per_page=2&before=${bob.id}`))
      assert.deepEqual(
        second.people.map((p: { id: string }) => p.id),
        [ada.id],
      )
      assert.equal(second.has_more, false)
      // Exactly full: no page follows, so no empty one.
      const full = json(await list(app, `?q=${tag}&per_page=3`))
      assert.equal(full.people.length, 3)
      assert.equal(full.has_more, false)

      // An erased person is not listed.
      const erased = await app.inject({ method: 'DELETE', url: `/api/user/${bob.id}`, headers: adminHeaders })
      assert.equal(erased.statusCode, 200, erased.body)
      const after = json(await list(app, `?q=${tag}`))
      assert.deepEqual(
        after.people.map((p: { id: string }) => p.id),
        [cy.id, ada.id],
      )
    })

    it('is for admins only, and refuses bad filters with 400', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const tag = uniqueSlug('ppl').replace(/[^a-z0-9]/g, '')
      const person = await join_(app, slug, 'Dee', `dee.${tag}@example.org`)
      const editor = await app.platform.apiKeys.create({ name: `editor ${tag}`, role: 'editor' })

      assert.equal((await list(app, '', {})).statusCode, 401)
      const byEditor = await list(app, '', { 'x-api-key': editor.key })
      assert.equal(byEditor.statusCode, 403, byEditor.body)
      const byPerson = await list(app, '', { authorization: `Bearer ${person.token}` })
      assert.equal(byPerson.statusCode, 403, byPerson.body)

      for (const query of ['?role=owner', '?per_page=0', '?per_page=201', '?before=lead_1', '?q=']) {
        const res = await list(app, query)
        assert.equal(res.statusCode, 400, `${query}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED', query)
      }

      // An admin person (not only a key) may list.
      await app.inject({
        method: 'PUT',
        url: `/api/user/${person.id}/role`,
        headers: adminHeaders,
        payload: { role: 'admin' },
      })
      const login = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'x-forwarded-for': network() },
        payload: { email: `dee.${tag}@example.org`, password },
      })
      assert.equal(login.statusCode, 200, login.body)
      const byAdmin = await list(app, `?q=${tag}`, { authorization: `Bearer ${json(login).token}` })
      assert.equal(byAdmin.statusCode, 200, byAdmin.body)
      assert.deepEqual(
        json(byAdmin).people.map((p: { id: string; role: string }) => [p.id, p.role]),
        [[person.id, 'admin']],
      )
    })
  })
}
