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

const refusal = (code: string) => ({
  status: 'error',
  error: { code, message: code.toLowerCase() },
  request_id: 'req-1',
})

/** A client holding a person's token, as a tab signed in as them would. */
const signedIn = (fetch: FetchLike) =>
  createClient({ baseUrl: 'http://ovasabi.test', token: 'ada.jwt', fetch })

const headersOf = (seen: Seen) => seen.init!.headers as Record<string, string>

describe('client email verification (injected fetch)', () => {
  for (const [status, answer] of [
    [202, { status: 'sent' }],
    [200, { status: 'already_verified' }],
  ] as const) {
    test(`requestEmailVerification() posts with the client's token and resolves with ${answer.status}`, async () => {
      const seen: Seen[] = []
      const client = signedIn(answering(status, answer, seen))
      assert.deepEqual(await client.users.requestEmailVerification(), answer)
      assert.equal(seen.length, 1)
      assert.equal(seen[0]!.url, 'http://ovasabi.test/api/auth/email/verification')
      assert.equal(seen[0]!.init?.method, 'POST')
      // The person asking is who the server mails: the call is theirs, so it carries their token.
      assert.equal(headersOf(seen[0]!).authorization, 'Bearer ada.jwt')
      assert.equal(seen[0]!.init?.body, undefined)
      assert.equal(client.token, 'ada.jwt')
    })
  }

  test("requestEmailVerification({ campaign }) asks for a link to that campaign's page", async () => {
    const seen: Seen[] = []
    const client = signedIn(answering(202, { status: 'sent' }, seen))
    assert.deepEqual(await client.users.requestEmailVerification({ campaign: 'launch' }), { status: 'sent' })
    assert.equal(seen[0]!.url, 'http://ovasabi.test/api/auth/email/verification')
    assert.deepEqual(JSON.parse(String(seen[0]!.init?.body)), { campaign: 'launch' })
    assert.equal(headersOf(seen[0]!).authorization, 'Bearer ada.jwt')
  })

  test("verifyEmail() posts the link's token without the client's token, and leaves that as it was", async () => {
    const seen: Seen[] = []
    const answer = { status: 'email_verified', email_verified_at: '2025-12-07T05:38:00.000Z' }
    const client = signedIn(answering(200, answer, seen))
    assert.deepEqual(await client.users.verifyEmail({ token: 'mailed-token' }), answer)
    assert.equal(seen.length, 1)
    assert.equal(seen[0]!.url, 'http://ovasabi.test/api/auth/email/verify')
    assert.equal(seen[0]!.init?.method, 'POST')
    assert.deepEqual(JSON.parse(String(seen[0]!.init?.body)), { token: 'mailed-token' })
    // The link may be opened in any browser: whoever this client is signed in as is no part of it.
    assert.equal(headersOf(seen[0]!).authorization, undefined)
    assert.equal(client.token, 'ada.jwt')
  })

  test('a guest or key, a server that cannot send mail, and a rate limit reject with their codes', async () => {
    const reject = (client: ReturnType<typeof signedIn>) =>
      client.users.requestEmailVerification().then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      )
    const guest = await reject(signedIn(answering(403, refusal('PERSON_REQUIRED'), [])))
    assert.ok(guest instanceof OvasabiError)
    assert.equal(guest.code, 'PERSON_REQUIRED')
    assert.equal(guest.status, 403)

    const down = (await reject(signedIn(answering(503, refusal('MAIL_UNAVAILABLE'), [])))) as OvasabiError
    assert.equal(down.code, 'MAIL_UNAVAILABLE')
    assert.equal(down.status, 503)

    const busy = signedIn(answering(429, refusal('RATE_LIMITED'), [], { 'retry-after': '1200' }))
    const limited = (await reject(busy)) as OvasabiError
    assert.equal(limited.code, 'RATE_LIMITED')
    assert.equal(limited.retryAfter, 1200)
  })

  test('a link expired, used or replaced rejects with INVALID_VERIFICATION_TOKEN, the token kept', async () => {
    const used = signedIn(answering(400, refusal('INVALID_VERIFICATION_TOKEN'), []))
    const invalid = await used.users.verifyEmail({ token: 'old-token' }).then(
      () => assert.fail('expected INVALID_VERIFICATION_TOKEN'),
      (e: unknown) => e as OvasabiError,
    )
    assert.ok(invalid instanceof OvasabiError)
    assert.equal(invalid.code, 'INVALID_VERIFICATION_TOKEN')
    assert.equal(invalid.status, 400)
    assert.equal(used.token, 'ada.jwt')

    const busy = signedIn(answering(429, refusal('RATE_LIMITED'), [], { 'retry-after': '30' }))
    const limited = await busy.users.verifyEmail({ token: 't' }).then(
      () => assert.fail('expected RATE_LIMITED'),
      (e: unknown) => e as OvasabiError,
    )
    assert.equal(limited.code, 'RATE_LIMITED')
    assert.equal(limited.retryAfter, 30)
  })
})
