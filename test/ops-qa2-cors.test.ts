import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ConfigError, loadConfig } from '../src/config.js'
import { buildTestApp, guestToken, type TestContext } from './helper.js'

const dir = mkdtempSync(join(tmpdir(), 'ovasabi-cors-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const base = { DATA_DIR: dir, JWT_SECRET: 'x'.repeat(40) }

function refusal(CORS_ORIGINS: string): string {
  try {
    loadConfig({ ...base, CORS_ORIGINS })
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return err.message
  }
  assert.fail(`CORS_ORIGINS=${CORS_ORIGINS} was accepted`)
}

// CORS_ORIGINS names the pages that may call with the visitor's login cookie (CORS with
// credentials, and the cookie rule of REST, /ws and /cable). `*` was taken as an origin named "*":
// it matched no page, so an operator who meant "any site" got every cross-site call refused.
describe('CORS_ORIGINS wildcards and entries that are no origin', () => {
  it('refuses `*` and wildcard hosts, saying why and what to write instead', () => {
    for (const value of ['*', ' * ', 'https://app.example, *', 'https://*.example.com']) {
      const message = refusal(value)
      assert.match(message, /CORS_ORIGINS.*wildcards are not supported/, value)
      assert.match(message, /login cookie/, value)
      assert.match(message, /CORS_ORIGINS=https:\/\/www\.example\.com,https:\/\/app\.example\.com/, value)
    }
  })

  it('refuses entries that are no origin, naming them', () => {
    for (const value of ['app.example.com', 'https://app.example.com/shop', 'ftp://files.example', 'null']) {
      assert.match(refusal(value), /not an origin; give scheme, host and port only/, value)
    }
    assert.match(refusal('https://ok.example, https://bad.example/path'), /"https:\/\/bad\.example\/path"/)
  })

  it('keeps origins in the form browsers send them (case, default port, trailing slash)', () => {
    const config = loadConfig({
      ...base,
      CORS_ORIGINS: 'https://Partner.Example:443/, http://localhost:5173,https://partner.example',
    })
    assert.deepEqual(config.CORS_ORIGINS, ['https://partner.example', 'http://localhost:5173'])
  })

  it('`ovasabi serve` with CORS_ORIGINS=* exits 1 with that message instead of starting', () => {
    const res = spawnSync(process.execPath, ['bin/ovasabi.js', 'serve'], {
      env: {
        ...process.env,
        ...base,
        DATABASE_URL: '',
        REDIS_URL: '',
        PORT: '0',
        LOG_LEVEL: 'warn',
        CORS_ORIGINS: '*',
      },
      encoding: 'utf8',
      // A server that starts never returns: the test fails instead of hanging.
      timeout: 60_000,
    })
    assert.equal(res.status, 1, `${res.signal ?? ''} ${res.stderr}`)
    assert.match(res.stderr, /CORS_ORIGINS="\*": wildcards are not supported/)
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace')
  })
})

describe('a listed origin written with a trailing slash and capitals', () => {
  let t: TestContext
  before(async () => {
    t = await buildTestApp({ env: { CORS_ORIGINS: 'https://Partner.example/' } })
  })
  after(() => t.close())

  it("is the browser's Origin for CORS and for the cookie rule", async () => {
    const origin = 'https://partner.example'
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/session',
      headers: { origin, 'access-control-request-method': 'POST' },
    })
    assert.equal(preflight.headers['access-control-allow-origin'], origin, JSON.stringify(preflight.headers))
    assert.equal(preflight.headers['access-control-allow-credentials'], 'true')
    const { token } = await guestToken(t.app)
    const logout = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { host: 'campaign.example', cookie: `ovasabi_token=${token}`, origin },
    })
    assert.equal(logout.statusCode, 200, logout.body)
    assert.equal(logout.headers['access-control-allow-origin'], origin)
  })
})
