// People as the referral and account tests make them: joins over REST, each from its own network
// (so per-IP caps never decide unless a test means them to), and what their referrals count.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { ADMIN_KEY, json } from './helper.js'

export const PASSWORD = 'correct horse 42'

export interface Joined {
  user: { id: string; email: string; referral_code: string }
  token: string
  session_id: string
  referral?: { status: string; code?: string }
}

export const mail = (tag: string) => `${tag}_${randomBytes(4).toString('hex')}@example.com`
/** An address of its own for each request. */
export const ip = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`
export const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'x-forwarded-for': ip() })

/** A join over REST, presenting `token` when given (the browser's current one). */
export async function join(
  app: FastifyInstance,
  campaign: string,
  fields: { name: string; token?: string; referral_code?: string; password?: string; email?: string },
): Promise<Joined> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: fields.token ? bearer(fields.token) : { 'x-forwarded-for': ip() },
    payload: {
      campaign,
      email: fields.email ?? mail(fields.name.toLowerCase()),
      name: fields.name,
      ...(fields.password ? { password: fields.password } : {}),
      ...(fields.referral_code ? { referral_code: fields.referral_code } : {}),
    },
  })
  assert.equal(res.statusCode, 201, res.body)
  return json(res)
}

/**
 * `POST /api/user/register` as a new person (Ada, a fresh address) with `fields` on top; the
 * response as it is, for tests of what a join refuses or stores.
 */
export function tryJoin(app: FastifyInstance, campaign: string, fields: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: '/api/user/register',
    payload: { campaign, name: 'Ada', email: mail('ada'), ...fields },
  })
}

/** `POST /api/referral`: the session of `token` applies referral `code` in `campaign`. */
export function applyReferral(app: FastifyInstance, campaign: string, token: string, code: string) {
  return app.inject({
    method: 'POST',
    url: '/api/referral',
    headers: bearer(token),
    payload: { campaign, code },
  })
}

/** How many qualified referrals `referrerId` has in `campaign` (0 before the first). */
export async function qualifiedReferrals(app: FastifyInstance, campaign: string, referrerId: string) {
  const row = await app.platform.database.db
    .selectFrom('service_referral_counter')
    .select('qualified')
    .where('campaign_slug', '=', campaign)
    .where('user_id', '=', referrerId)
    .executeTakeFirst()
  return row?.qualified ?? 0
}

/** A person who joined with a password and holds a role, with a token that carries it. */
export interface PersonWithRole {
  id: string
  email: string
  password: string
  /** From a login after the role was given: it carries the role. */
  token: string
  /** From the join (a participant's, whatever the role is now), of another session than `token`. */
  joinToken: string
}

/**
 * "A person with a role", as the account, refresh and console tests make one: a join of `campaign`
 * with a password over REST, the role given by the admin key (`PUT /api/user/{id}/role`; nothing
 * for a participant), then a login. Each request from a client network of its own.
 */
export async function personWithRole(
  app: FastifyInstance,
  campaign: string,
  role: 'participant' | 'editor' | 'admin',
  options: { name?: string; email?: string; password?: string } = {},
): Promise<PersonWithRole> {
  const name = options.name ?? 'Ada'
  const email = options.email ?? mail(name.toLowerCase().replace(/[^a-z0-9]+/g, '.'))
  const password = options.password ?? PASSWORD
  const joined = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: { 'x-forwarded-for': ip() },
    payload: { campaign, name, email, password },
  })
  assert.equal(joined.statusCode, 201, joined.body)
  const id = json(joined).user.id as string
  if (role !== 'participant') {
    const granted = await app.inject({
      method: 'PUT',
      url: `/api/user/${id}/role`,
      headers: { 'x-api-key': ADMIN_KEY },
      payload: { role },
    })
    assert.equal(granted.statusCode, 200, granted.body)
  }
  const login = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'x-forwarded-for': ip() },
    payload: { email, password },
  })
  assert.equal(login.statusCode, 200, login.body)
  return { id, email, password, token: json(login).token as string, joinToken: json(joined).token as string }
}
