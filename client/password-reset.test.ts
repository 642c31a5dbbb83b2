import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createClient, type FetchLike, OvasabiError } from './index.js'

interface Seen {
  url: string
  init?: RequestInit
}

/** A fetch answering every call with `status`, `body` and `headers`, recording what was asked. */
function answering(
  status: number,
  body: unknown,
  seen: Seen[],
  headers: Record<string, string> = {},
): FetchLike {
  return async (url, init) => {
    seen.push({ url, init })
    return new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    })
  }
}

const refusal = (code: string, details?: unknown) => ({
  status: 'error',
  error: { code, message: code.toLowerCase(), ...(details ? { details } : {}) },
  request_id: 'req-1',
})

/** A client holding a token, as a tab still signed in as someone would. */
const signedIn = (fetch: FetchLike) =>
  createClient({ baseUrl: 'http://ovasabi.test', token: 'old.jwt', fetch })

describe('client password reset (injected fetch)', () => {
  for (const [name, path, body, answer] of [
    ['forgotPassword', '/api/auth/password/forgot', { email: 'ada@example.com' }, { status: 'accepted' }],
    [
      'resetPassword',
      '/api/auth/password/reset',
      { token: 'mailed-token', password: 'a new one 42' },
      { status: 'password_reset' },
    ],
  ] as const) {
    test(`${name}() posts ${path} without the client's token, and leaves the token as it was`, async () => {
      const seen: Seen[] = []
      const client = signedIn(answering(name === 'forgotPassword' ? 202 : 200, answer, seen))
      const result =
        name === 'forgotPassword'
          ? await client.users.forgotPassword(body as { email: string })
          : await client.users.resetPassword(body as { token: string; password: string })
      assert.deepEqual(result, answer)
      assert.equal(seen.length, 1)
      assert.equal(seen[0]!.url, `http://ovasabi.test${path}`)
      assert.equal(seen[0]!.init?.method, 'POST')
      assert.deepEqual(JSON.parse(String(seen[0]!.init?.body)), body)
      const headers = seen[0]!.init!.headers as Record<string, string>
      // An anonymous call: a stale token would be harmless, but it is no part of the request.
      assert.equal(headers.authorization, undefined)
      assert.equal(client.token, 'old.jwt')
    })
  }

  test('a server that cannot send mail, and a rate limit, reject with their codes (and the wait)', async () => {
    const noMail = signedIn(answering(503, refusal('MAIL_UNAVAILABLE'), []))
    const down = await noMail.users.forgotPassword({ email: 'ada@example.com' }).then(
      () => assert.fail('expected MAIL_UNAVAILABLE'),
      (e: unknown) => e,
    )
    assert.ok(down instanceof OvasabiError)
    assert.equal(down.code, 'MAIL_UNAVAILABLE')
    assert.equal(down.status, 503)

    const busy = signedIn(answering(429, refusal('RATE_LIMITED'), [], { 'retry-after': '42' }))
    const limited = await busy.users.forgotPassword({ email: 'ada@example.com' }).then(
      () => assert.fail('expected RATE_LIMITED'),
      (e: unknown) => e as OvasabiError,
    )
    assert.equal(limited.code, 'RATE_LIMITED')
    assert.equal(limited.retryAfter, 42)
  })

  test('a weak password and a used token reject with the server’s code and per-field details', async () => {
    const issues = [{ in: 'body', path: '/password', message: 'must be at least 10 characters' }]
    const weak = signedIn(answering(400, refusal('WEAK_PASSWORD', issues), []))
    const refused = await weak.users.resetPassword({ token: 't', password: 'short' }).then(
      () => assert.fail('expected WEAK_PASSWORD'),
      (e: unknown) => e as OvasabiError,
    )
    assert.equal(refused.code, 'WEAK_PASSWORD')
    assert.deepEqual(refused.details, issues)

    const used = signedIn(answering(400, refusal('INVALID_RESET_TOKEN'), []))
    const invalid = await used.users.resetPassword({ token: 't', password: 'a new one 42' }).then(
      () => assert.fail('expected INVALID_RESET_TOKEN'),
      (e: unknown) => e as OvasabiError,
    )
    assert.equal(invalid.code, 'INVALID_RESET_TOKEN')
    assert.equal(used.token, 'old.jwt')
  })
})
