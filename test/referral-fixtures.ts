// Referral drives as the rule-change and race suites drive them: people joining and applying
// codes over REST (each request from a network of its own, so per-IP caps never decide), quotes as
// qualifying actions, and what the referral tables and counters then hold.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'
import {
  createReferralService,
  type ReferralService,
  type ReferralServiceDeps,
} from '../src/modules/referral/referral.service.js'
import type { Db } from '../src/platform/db/database.js'
import type { RealtimeMessage, RealtimePublisher } from '../src/realtime/publish.js'
import { adminHeaders, captureFrames, json } from './helper.js'
import { ip, mail } from './people-fixtures.js'

export interface Joined {
  user: { id: string; email: string; display_name: string; referral_code: string }
  token: string
  /** What became of the `referral_code` the join carried, when it carried one. */
  referral?: { status: string; code?: string }
}

/** What a join may set; a fresh address (`r_…@example.com`), `Person` and a network of its own else. */
export interface JoinFields {
  name?: string
  email?: string
  referral_code?: string
  /** The browser's current session, sent as its bearer token. */
  token?: string
  /** The client network (`x-forwarded-for`). */
  ip?: string
}

/** `POST /api/user/register` with `fields`, answered with a success; the person and their session. */
export async function joinWith(
  app: FastifyInstance,
  campaign: string,
  fields: JoinFields = {},
): Promise<Joined> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: {
      'x-forwarded-for': fields.ip ?? ip(),
      ...(fields.token ? { authorization: `Bearer ${fields.token}` } : {}),
    },
    payload: {
      campaign,
      email: fields.email ?? mail('r'),
      name: fields.name ?? 'Person',
      ...(fields.referral_code ? { referral_code: fields.referral_code } : {}),
    },
  })
  assert.ok(res.statusCode < 300, `join: ${res.statusCode} ${res.body}`)
  return json(res)
}

/** A join as `name` (at `email` when given), answered with a success. */
export function join(
  app: FastifyInstance,
  campaign: string,
  name = 'Person',
  email?: string,
): Promise<Joined> {
  return joinWith(app, campaign, { name, email })
}

/**
 * `POST /api/referral`: the session of `who` applies `code` (anything, for the refusals) in
 * `campaign`, from `fromIp` (a network of its own unless given); the response as it is.
 */
export function tryApply(
  app: FastifyInstance,
  campaign: string,
  who: { token: string },
  code: unknown,
  fromIp = ip(),
) {
  return app.inject({
    method: 'POST',
    url: '/api/referral',
    headers: { authorization: `Bearer ${who.token}`, 'x-forwarded-for': fromIp },
    payload: { campaign, code },
  })
}

/** `POST /api/referral` answered 200; its `status` (`pending`, `qualified`). */
export async function apply(app: FastifyInstance, campaign: string, who: Joined, code: string) {
  const res = await tryApply(app, campaign, who, code)
  assert.equal(res.statusCode, 200, res.body)
  return json(res).status as string
}

/** `res` is a refusal: `status`, with error `code`. */
export function refused(res: LightMyRequestResponse, status: number, code: string) {
  assert.equal(res.statusCode, status, res.body)
  assert.equal(json(res).error.code, code, res.body)
}

/** `POST /api/:slug/update` of a quote, from an address of its own (quotes are rate limited per address). */
export async function quote(app: FastifyInstance, slug: string, who: Joined, action = 'quote.submit') {
  const res = await app.inject({
    method: 'POST',
    url: `/api/${slug}/update`,
    headers: { authorization: `Bearer ${who.token}`, 'x-forwarded-for': ip() },
    payload: { action, data: { name: 'Q', email: mail('quote') } },
  })
  assert.equal(res.statusCode, 200, res.body)
}

/** A merge patch of the campaign's metadata, by an admin. */
export async function patch(app: FastifyInstance, slug: string, metadata: Record<string, unknown>) {
  const res = await app.inject({
    method: 'PATCH',
    url: `/api/campaign/${slug}`,
    headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
    payload: { metadata },
  })
  assert.equal(res.statusCode, 200, res.body)
}

export const rule = (referral_qualifies_on: string) => ({ custom_rules: { referral_qualifies_on } })

/** The state (and reason) of the referral `who` applied in `slug`. */
export async function state(db: Db, slug: string, who: Joined) {
  return db
    .selectFrom('service_referral_main')
    .select(['state', 'reason'])
    .where('campaign_slug', '=', slug)
    .where('referred_id', '=', who.user.id)
    .executeTakeFirstOrThrow()
}

export async function counter(db: Db, slug: string, userId: string) {
  return db
    .selectFrom('service_referral_counter')
    .select(['qualified', 'pending'])
    .where('campaign_slug', '=', slug)
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow()
}

/** The campaign's `referrals_qualified` counter, as admins read it. */
export async function campaignQualified(app: FastifyInstance, slug: string) {
  const res = await app.inject({ method: 'GET', url: `/api/campaign/${slug}/stats`, headers: adminHeaders })
  return json(res).counters.referrals_qualified ?? 0
}

/** Polls `check` (every 25 ms, up to 20 s): a qualification runs after the action's answer. */
export async function eventually(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 800; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  assert.fail(`never: ${what}`)
}

/** The recheck of the campaign's current version has done its first pass (the second waits). */
export async function rechecked(db: Db, slug: string) {
  await eventually(async () => {
    const row = await db
      .selectFrom('service_referral_recheck as r')
      .innerJoin('service_campaign_main as c', 'c.slug', 'r.campaign_slug')
      .select(['r.campaign_version', 'c.version', 'r.passes_left', 'r.due_at'])
      .where('r.campaign_slug', '=', slug)
      .executeTakeFirst()
    return (
      !!row &&
      row.campaign_version === row.version &&
      (row.passes_left === 0 || (row.passes_left === 1 && row.due_at.getTime() > Date.now()))
    )
  }, 'the recheck caught up')
}

/** The thresholds of the `referral.milestone` events `slug`'s sockets were sent, in order. */
export const milestones = (frames: RealtimeMessage[], slug: string) =>
  frames
    .filter((m) => m.frame.type === 'campaign_event' && m.frame.campaign_id === slug)
    .filter((m) => m.frame.event === 'referral.milestone')
    .map((m) => (m.frame.payload as { threshold: number }).threshold)
    .sort((a, b) => a - b)

/**
 * A campaign with `customRules` and `n` people (`p0`…) referred by `ref1`, pending, written
 * straight into the tables (the referral service has not seen them).
 */
export async function seedPending(db: Db, n: number, customRules: Record<string, unknown>) {
  const slug = `rp_${randomBytes(4).toString('hex')}`
  await db
    .insertInto('service_campaign_main')
    .values({
      slug,
      title: slug,
      description: '',
      draft: false,
      created_by: 'test',
      metadata: JSON.stringify({ features: [...FEATURES], custom_rules: customRules }),
      updated_at: new Date(),
    })
    .execute()
  for (let i = 0; i < n; i++) {
    await db
      .insertInto('service_referral_main')
      .values({
        campaign_slug: slug,
        code: 'REF1',
        referrer_id: 'ref1',
        referred_id: `p${i}`,
        state: 'pending',
        ip_hash: `h${i}`,
        metadata: '{}',
        updated_at: new Date(),
      })
      .execute()
  }
  await db
    .insertInto('service_referral_counter')
    .values({ campaign_slug: slug, user_id: 'ref1', qualified: 0, pending: n, updated_at: new Date() })
    .execute()
  return slug
}

/** An action's commit as far as referrals can see it: its analytics event, and nothing after. */
export async function didAction(db: Db, slug: string, userId: string, event: string) {
  await db
    .insertInto('service_analytics_event')
    .values({
      event_id: randomBytes(8).toString('hex'),
      campaign_slug: slug,
      event,
      user_id: userId,
      session_id: 's',
      payload: '{}',
      metadata: '{}',
      timestamp: new Date(),
      received_at: new Date(),
    })
    .execute()
}

/**
 * Another node's referral service on `db`, outside any app: people unknown to it by name (their
 * ids are their display names), `quote.submit` (alias `submit_quote`) its one action, and its
 * sweeps run by hand unless `recheck`/`catchUp` say otherwise.
 */
export function detachedReferralService(
  db: Db,
  options: Pick<ReferralServiceDeps, 'recheck' | 'catchUp'> & { publisher?: RealtimePublisher } = {},
): ReferralService {
  return createReferralService({
    db,
    publisher: options.publisher ?? { publish: async () => {} },
    users: {
      findMember: async () => undefined,
      sessionIds: async () => [],
      displayNames: async (ids) => new Map(ids.map((id) => [id, id])),
    },
    actions: {
      resolve: (name: string) =>
        name === 'quote.submit' || name === 'submit_quote'
          ? ({ name: 'quote.submit', aliases: ['submit_quote'] } as never)
          : undefined,
      isFallback: () => false,
    },
    recheck: { sweepMs: 60_000, ...options.recheck },
    catchUp: { sweepMs: 60_000, ...options.catchUp },
  })
}

/**
 * The app of a suite (`realtimeSuite`, `suiteApp`) with every frame it publishes kept in `frames`,
 * in order, from the first call of `app()` on: the suite's app exists only once its tests run.
 */
export function capturingFrames(suite: { readonly app: FastifyInstance }) {
  const frames: RealtimeMessage[] = []
  let capturing = false
  return {
    frames,
    app: () => {
      if (!capturing) {
        capturing = true
        void captureFrames(suite.app, (m) => frames.push(m as RealtimeMessage))
      }
      return suite.app
    },
  }
}
