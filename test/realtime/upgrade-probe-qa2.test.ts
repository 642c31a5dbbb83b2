// The probe (a plain GET of `/ws/…`) and the upgrade run one list of admission checks: every
// refusal, the URLs Fastify's router cannot read included (an over-long segment, a broken
// percent-encoding, a path the route does not match), is answered by both with the same status,
// code and Retry-After; a URL the upgrade admits gets 426 from the probe.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS } from '../helper.js'
import { realtimeSuite } from './fixtures.js'
import { probeTargets } from './probe-fixtures.js'
import { headerValues, rawRequest, rawUpgrade } from './raw-upgrade.js'

const PARTNER = 'https://partner.example'

interface Seen {
  status: number
  code: string | undefined
  retryAfter: string | null
}

let nextAddress = 0
/** A client address of its own (TRUST_PROXY=true in tests: X-Forwarded-For names it). */
const address = () => ({ 'x-forwarded-for': `203.0.113.${++nextAddress}` })

const codeOf = (body: string): string | undefined => {
  try {
    return JSON.parse(body).error?.code
  } catch {
    return `unreadable body: ${body.slice(0, 80)}`
  }
}

for (const dialect of DIALECTS) {
  describe(`the probe and the upgrade refuse alike (${dialect})`, () => {
    const live = realtimeSuite({
      dialect,
      env: { CORS_ORIGINS: PARTNER, WS_MAX_SOCKETS_PER_IP: '1', WS_MAX_SOCKETS_PER_SESSION: '1' },
    })

    const headerLines = (headers: Record<string, string>) =>
      Object.entries(headers)
        .map(([n, v]) => `${n}: ${v}\r\n`)
        .join('')
    /** The path written on the wire as is (fetch would re-encode it). */
    const probe = async (path: string, headers: Record<string, string>): Promise<Seen> => {
      const raw = await rawRequest(
        live.port,
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${live.port}\r\nConnection: close\r\n${headerLines(headers)}\r\n`,
      )
      return {
        status: raw.status,
        code: codeOf(raw.body),
        retryAfter: headerValues(raw, 'retry-after')[0] ?? null,
      }
    }
    const upgrade = async (path: string, headers: Record<string, string>): Promise<Seen> => {
      const raw = await rawUpgrade(live.port, path, headers)
      return {
        status: raw.status,
        code: codeOf(raw.body),
        retryAfter: headerValues(raw, 'retry-after')[0] ?? null,
      }
    }

    it('answers every refusal with the status, code and Retry-After of the upgrade', async () => {
      const { slug, draft, archived, guest, user } = await probeTargets(live, 'qa2_user')
      const long = 'a'.repeat(120)
      // A full address: its one socket is open, so whatever else the request holds, it is 429 first.
      const full = address()
      await live.open(`/ws/${slug}/guest?token=${await live.guestToken()}`, { headers: full })
      // A full session: its one socket is open from another address.
      const held = await live.guestToken()
      await live.open(`/ws/${slug}/guest?token=${held}`, { headers: address() })

      const cases: Array<[string, string, Record<string, string>, number, string]> = [
        ['over-long campaign segment', `/ws/${long}/guest?token=${guest}`, {}, 400, 'VALIDATION_FAILED'],
        ['over-long user id, no token', `/ws/${slug}/${long}`, {}, 401, 'UNAUTHORIZED'],
        ['over-long user id', `/ws/${slug}/${long}?token=${guest}`, {}, 403, 'USER_MISMATCH'],
        [
          'broken encoding in the campaign',
          `/ws/%E0%A4%A/guest?token=${guest}`,
          {},
          400,
          'VALIDATION_FAILED',
        ],
        [
          'lone surrogate in the user id',
          `/ws/${slug}/%ED%A0%80?token=${guest}`,
          {},
          400,
          'VALIDATION_FAILED',
        ],
        ['bare % in the campaign', `/ws/%/guest?token=${guest}`, {}, 400, 'VALIDATION_FAILED'],
        ['broken encoding past the route', `/ws/${slug}/guest/%?token=${guest}`, {}, 404, 'NOT_FOUND'],
        ['a third segment', `/ws/${slug}/guest/more?token=${guest}`, {}, 404, 'NOT_FOUND'],
        ['one segment only', `/ws/${slug}?token=${guest}`, {}, 404, 'NOT_FOUND'],
        ['bad campaign slug', `/ws/Not%20A%20Slug/guest?token=${guest}`, {}, 400, 'VALIDATION_FAILED'],
        ['bad since', `/ws/${slug}/guest?token=${guest}&since=-1`, {}, 400, 'VALIDATION_FAILED'],
        ['no token', `/ws/${slug}/guest`, {}, 401, 'UNAUTHORIZED'],
        ['bad token', `/ws/${slug}/guest?token=not.a.token`, {}, 401, 'INVALID_TOKEN'],
        ['forged user id', `/ws/${slug}/someone_else?token=${guest}`, {}, 403, 'USER_MISMATCH'],
        [
          'cookie from a refused origin',
          `/ws/${slug}/qa2_user`,
          { cookie: `ovasabi_token=${user}`, origin: 'https://evil.example' },
          403,
          'ORIGIN_NOT_ALLOWED',
        ],
        [
          'campaign not found',
          `/ws/nowhere_${Date.now()}/guest?token=${guest}`,
          {},
          404,
          'CAMPAIGN_NOT_FOUND',
        ],
        ['draft campaign', `/ws/${draft}/guest?token=${guest}`, {}, 409, 'CAMPAIGN_NOT_ACTIVE'],
        ['archived campaign', `/ws/${archived}/guest?token=${guest}`, {}, 409, 'CAMPAIGN_NOT_ACTIVE'],
        ['session at its limit', `/ws/${slug}/guest?token=${held}`, {}, 429, 'TOO_MANY_CONNECTIONS'],
        ['address at its limit', `/ws/${slug}/guest?token=${guest}`, full, 429, 'TOO_MANY_CONNECTIONS'],
        ['address at its limit, broken URL', '/ws/%E0%A4%A/guest', full, 429, 'TOO_MANY_CONNECTIONS'],
        ['address at its limit, over-long URL', `/ws/${long}/guest`, full, 429, 'TOO_MANY_CONNECTIONS'],
      ]
      for (const [name, path, headers, status, code] of cases) {
        const from = 'x-forwarded-for' in headers ? headers : { ...address(), ...headers }
        const byUpgrade = await upgrade(path, from)
        const byProbe = await probe(path, from)
        assert.deepEqual(byProbe, byUpgrade, `${name}: probe vs upgrade`)
        assert.deepEqual([byUpgrade.status, byUpgrade.code], [status, code], name)
        assert.equal(byUpgrade.retryAfter, status === 429 ? '10' : null, name)
      }
    })

    it('answers 426 where the upgrade is admitted, a trailing slash included', async () => {
      const slug = await createCampaign(live.app)
      for (const path of [`/ws/${slug}/guest/?token=`, `/ws/${slug}/guest?token=`]) {
        const from = address()
        const byProbe = await probe(`${path}${await live.guestToken()}`, from)
        assert.deepEqual([byProbe.status, byProbe.code], [426, 'UPGRADE_REQUIRED'], path)
        const socket = await live.open(`${path}${await live.guestToken()}`, { headers: from })
        socket.close()
      }
    })
  })
}

for (const dialect of DIALECTS) {
  // StreamSource maintenance (a 503 for every REST route) does not refuse `/ws` sockets: the
  // probe answers what the upgrade would, not the maintenance page, so the SDK still learns why.
  describe(`the probe during StreamSource maintenance (${dialect})`, () => {
    const live = realtimeSuite({ dialect })

    it('answers the refusal or the 426 of the upgrade, not 503', async () => {
      const slug = await createCampaign(live.app)
      const guest = await live.guestToken()
      const on = await live.app.inject({
        method: 'PUT',
        url: '/api/v1/admin/maintenance',
        headers: adminHeaders,
        payload: { enabled: true },
      })
      assert.equal(on.statusCode, 200, on.body)
      assert.equal((await live.app.inject({ url: `/api/campaign/${slug}` })).statusCode, 503)
      const from = address()
      for (const [path, status, code] of [
        [`/ws/${slug}/guest?token=not.a.token`, 401, 'INVALID_TOKEN'],
        [`/ws/${slug}/someone_else?token=${guest}`, 403, 'USER_MISMATCH'],
      ] as const) {
        const byProbe = await fetch(`http://127.0.0.1:${live.port}${path}`, { headers: from })
        const byUpgrade = await rawUpgrade(live.port, path, from)
        assert.deepEqual([byProbe.status, codeOf(await byProbe.text())], [status, code], path)
        assert.deepEqual([byUpgrade.status, codeOf(byUpgrade.body)], [status, code], path)
      }
      const admitted = await fetch(`http://127.0.0.1:${live.port}/ws/${slug}/guest?token=${guest}`, {
        headers: from,
      })
      assert.deepEqual([admitted.status, codeOf(await admitted.text())], [426, 'UPGRADE_REQUIRED'])
      const socket = await live.open(`/ws/${slug}/guest?token=${guest}`, { headers: from })
      assert.equal(socket.frames[0].type, 'connected')
      socket.close()
    })
  })
}
