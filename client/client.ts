import { claimsOf } from './claims.js'
import type * as C from './contracts.js'
import { OvasabiError } from './errors.js'
import { type ConditionalOptions, type FetchLike, HttpCore, ifMatchHeaders, type Query } from './http.js'
import { connectRealtime, type RealtimeConnection } from './realtime.js'
import type { RealtimeOptions } from './realtime-options.js'
import type * as T from './types.js'
import { sendWhileInProgress } from './in-progress.js'
import { streamRestCalls } from './stream-rest.js'
import { type PutOptions, putBytes } from './upload.js'
import { webhookCalls } from './webhooks.js'
import { ulid } from './ulid.js'

export interface ClientOptions {
  /** Server origin, e.g. `http://localhost:8090` (`''` in a page served by the server). */
  baseUrl: string
  /** A session or user JWT, sent as `Authorization: Bearer`. */
  token?: string
  /** An `ovs_…` API key (admin console, scripts); takes precedence over `token`. */
  apiKey?: string
  fetch?: FetchLike
  /**
   * Longest a REST call may take, answer included, before it fails with `TIMEOUT` (default 30 s; 0
   * or `Infinity`: none).
   */
  timeoutMs?: number
  /** WebSocket constructor for `connect()` (Node < 22: pass `ws`). */
  WebSocket?: RealtimeOptions['WebSocket']
}

export interface ActionOptions {
  /** Idempotency key; a ULID is generated when absent. Reuse it to retry safely. */
  requestId?: string
  metadata?: Record<string, unknown>
  signal?: AbortSignal
}

/**
 * `PATCH /api/campaign/{slug}` as a merge patch (RFC 7396): `metadata` merges key by key, and
 * `null` removes a member (`description` back to `""`, `draft` to `false`, `metadata` to none set)
 * or a metadata key. `title` cannot be removed.
 */
export interface CampaignMergePatch {
  title?: string
  description?: string | null
  draft?: boolean | null
  metadata?: Record<string, unknown> | null
  /** The body's own precondition (as `update`'s); `ifMatch` is the header's. */
  version?: number | null
}

const enc = encodeURIComponent

/**
 * The Ovasabi client: typed calls for every REST route and the action endpoint, plus
 * `connect()` for the real-time socket. Works in browsers and Node (inject `fetch`/`WebSocket`).
 */
export function createClient(options: ClientOptions) {
  const http = new HttpCore(options)
  const req = http.request.bind(http)
  /** Sockets opened by `connect()` on the client's own token: a logout ends them with it. */
  const sockets = new Set<RealtimeConnection>()

  /**
   * Ends the session (`all`: every session of the person) and forgets the token. A 401 means the
   * token was already refused (logged out elsewhere, expired): it is forgotten too, and the error
   * thrown. Any other failure (network, 5xx) keeps it, so the logout can be retried.
   */
  async function logout(all: boolean): Promise<C.LogoutResult> {
    const sent = http.token
    const forget = () => {
      // A token set meanwhile (a login racing the logout) is not this one's to drop.
      if (http.token === sent) http.token = undefined
      for (const s of sockets) s.close()
      sockets.clear()
    }
    try {
      const r = await req<C.LogoutResult>('POST', all ? '/api/auth/logout/all' : '/api/auth/logout')
      forget()
      return r
    } catch (err) {
      if (err instanceof OvasabiError && err.status === 401) forget()
      throw err
    }
  }

  /**
   * A new token for the client (a session, a join, a login, `setToken`), and for the sockets
   * `connect()` opened on the client's token: one of the socket's own identity is taken in-band,
   * the socket staying; one of another user or guest session reconnects it as that identity (the
   * server takes a user's token only on that user's path), resuming after its last event.
   */
  function adopt(token: string, userId?: string) {
    http.token = token
    const claims = claimsOf(token)
    for (const s of sockets) s.followToken(token, claims.userId ?? userId, claims.sessionId)
  }

  /** `POST /api/{campaign}/update` with the envelope built and `request_id` generated. */
  async function action<R = unknown>(
    campaign: string,
    event: string,
    payload: unknown = {},
    opts: ActionOptions = {},
  ): Promise<T.ActionSuccess<R>> {
    const requestId = opts.requestId ?? ulid()
    const envelope: T.ActionEnvelope = {
      type: 'campaign_event',
      campaign_id: campaign,
      event,
      payload,
      metadata: opts.metadata,
      timestamp: new Date().toISOString(),
      request_id: requestId,
    }
    // The same request_id again while its first run goes on (a retry after a dropped answer, the
    // first run on another node): answered with that run's result once it is done.
    return sendWhileInProgress(
      () =>
        req<T.ActionSuccess<R>>('POST', `/api/${enc(campaign)}/update`, {
          body: envelope,
          signal: opts.signal,
        }),
      { what: `POST /api/${enc(campaign)}/update`, key: requestId, signal: opts.signal },
    )
  }

  const client = {
    http,
    /**
     * Replace the credential (e.g. a refreshed token, or after join the user token replacing the
     * guest one), for REST calls and for the sockets `connect()` opened on the client's token: a
     * token of the socket's own user (and guest session) is taken in-band, the socket staying; one of
     * another user or session reconnects the socket as it at once, resuming after its last event
     * (state `reconnecting`, then `open`; no close, no error), and dispatches still waiting on it
     * reject with `IDENTITY_CHANGED`. A socket still in its handshake takes it as soon as it can:
     * in-band once open, or replaced at once (no backoff) for another identity. A token the server refuses goes to the socket's `onError`.
     * `undefined` forgets the token for later calls; open sockets stay as they are (`users.logout`
     * ends them).
     */
    setToken(token: string | undefined) {
      if (token === undefined) http.token = undefined
      else adopt(token)
    },
    get token() {
      return http.token
    },
    setApiKey(key: string | undefined) {
      http.apiKey = key
    },

    /**
     * `POST /api/session`: a guest session; the client keeps using its token. An answer without
     * one rejects with `INVALID_RESPONSE`, and the token in use stays.
     */
    async createSession(): Promise<T.Session> {
      const s = await req<T.Session | undefined>('POST', '/api/session', { auth: false })
      // A 2xx without a session (a proxy's empty answer, a stub): the token in use stays.
      if (typeof s?.token !== 'string' || !s.token)
        throw new OvasabiError('INVALID_RESPONSE', 'POST /api/session answered without a session token')
      adopt(s.token, 'guest')
      return s
    },

    action,

    health: () => req<T.HealthReport>('GET', '/health', { auth: false }),

    campaigns: {
      list: (q: { include_archived?: boolean; tag?: string; page?: number; per_page?: number } = {}) =>
        req<T.CampaignList>('GET', '/api/campaign', { query: q }),
      /** Editors get the whole campaign; other sessions its public view. */
      get: (slug: string) => req<T.Campaign | T.PublicCampaign>('GET', `/api/campaign/${enc(slug)}`),
      create: (body: T.CreateCampaignInput) => req<T.Campaign>('POST', '/api/campaign', { body }),
      /** `metadata` replaces the stored one whole; `ifMatch`: only if the campaign is still as read. */
      update: (slug: string, body: T.UpdateCampaignInput, opts?: ConditionalOptions) =>
        req<T.Campaign>('PATCH', `/api/campaign/${enc(slug)}`, { body, headers: ifMatchHeaders(opts) }),
      /**
       * `PATCH /api/campaign/{slug}` as `application/merge-patch+json`: names only what it changes,
       * `null` removing (see `CampaignMergePatch`). `ifMatch`: only if the campaign is still as read.
       */
      mergePatch: (slug: string, patch: CampaignMergePatch, opts?: ConditionalOptions) =>
        req<T.Campaign>('PATCH', `/api/campaign/${enc(slug)}`, {
          body: patch,
          headers: { 'content-type': 'application/merge-patch+json', ...ifMatchHeaders(opts) },
        }),
      /**
       * `DELETE /api/campaign/{slug}` (admin): stays readable, its actions stop, read-only until
       * unarchived. `ifMatch`: only if the campaign is still as read.
       */
      archive: (slug: string, opts?: ConditionalOptions) =>
        req<T.Campaign>('DELETE', `/api/campaign/${enc(slug)}`, { headers: ifMatchHeaders(opts) }),
      /**
       * `POST /api/campaign/{slug}/unarchive` (admin): an archived campaign editable again (`update`
       * refuses one with 409 `CAMPAIGN_ARCHIVED` until then). Idempotent: one not archived is
       * answered as it is. `ifMatch`: only if the campaign is still as read.
       */
      unarchive: (slug: string, opts?: ConditionalOptions) =>
        req<T.Campaign>('POST', `/api/campaign/${enc(slug)}/unarchive`, { headers: ifMatchHeaders(opts) }),
      stats: (slug: string) => req<T.CampaignStats>('GET', `/api/campaign/${enc(slug)}/stats`),
      audit: (slug: string, limit?: number) =>
        req<{ entries: T.AuditEntry[] }>('GET', `/api/campaign/${enc(slug)}/audit`, { query: { limit } }),
    },

    auth: {
      /**
       * `GET /api/auth/me`: who the client's credential is to the server (kind, ids, roles, token
       * expiry, and a person's own profile). A token logged out or of an erased person is refused
       * (401 `TOKEN_REVOKED`): a cheap way to check the token still works.
       */
      me: () => req<C.Me>('GET', '/api/auth/me'),
      /**
       * `PATCH /api/auth/me`: the client's person changes their display name (the leaderboard shows
       * it from then on) or locale (their mails' and notifications' language); answered as `me()`.
       * A guest session or an API key: 403 `PERSON_REQUIRED`; a field not allowed or not valid:
       * 400 `VALIDATION_FAILED`.
       */
      updateMe: (body: C.MeUpdate) => req<C.Me>('PATCH', '/api/auth/me', { body }),
      /**
       * `GET /api/auth/sessions`: where the client's person is signed in (browser, network, when
       * signed in and last active), most recently active first; `current` marks this client's.
       * A guest session or an API key: 403 `PERSON_REQUIRED`.
       */
      sessions: () => req<C.SignInList>('GET', '/api/auth/sessions'),
      /**
       * `DELETE /api/auth/sessions/{id}`: one of the person's sessions ends, as a logout there
       * would. Ending this client's own (`current`) forgets its token and closes its sockets, as
       * `users.logout()` does. One not theirs: 404 `SESSION_NOT_FOUND`.
       */
      async endSession(sessionId: string): Promise<C.EndedSession> {
        const sent = http.token
        const r = await req<C.EndedSession>('DELETE', `/api/auth/sessions/${enc(sessionId)}`)
        if (r?.current && http.token === sent) {
          http.token = undefined
          for (const s of sockets) s.close()
          sockets.clear()
        }
        return r
      },
      /**
       * `POST /api/auth/logout/others`: every other session of the client's person ends (every
       * token of theirs issued before now, as `users.logoutEverywhere()`), and this client goes on
       * with the new token answered, sockets included. A guest session or an API key: 403
       * `PERSON_REQUIRED`.
       */
      async logoutOthers(): Promise<C.AuthResult> {
        const r = await req<C.AuthResult>('POST', '/api/auth/logout/others')
        if (r?.token) adopt(r.token, r.user.id)
        return r
      },
    },

    users: {
      /**
       * `POST /api/user/register`; the returned user token replaces the current one, and the sockets
       * `connect()` opened on the client's token reconnect as the user.
       */
      async register(body: C.RegisterInput): Promise<C.AuthResult> {
        const r = await req<C.AuthResult>('POST', '/api/user/register', { body })
        if (r?.token) adopt(r.token, r.user.id)
        return r
      },
      async login(body: C.LoginInput): Promise<C.AuthResult> {
        const r = await req<C.AuthResult>('POST', '/api/auth/login', { body })
        if (r?.token) adopt(r.token, r.user.id)
        return r
      },
      /**
       * `POST /api/auth/password/forgot`: mails the person with this email a link to choose a new
       * password, working for 30 minutes (a newer request replaces it). Answered `accepted` whether
       * or not an account has the address, so the answer tells no one which do. The server cannot
       * send mail: 503 `MAIL_UNAVAILABLE`; too many asked: 429 `RATE_LIMITED` (`retryAfter`).
       * Sent without the client's credential, whose token stays as it is.
       */
      forgotPassword: (body: C.ForgotPasswordInput) =>
        req<C.ForgotPasswordResult>('POST', '/api/auth/password/forgot', { body, auth: false }),
      /**
       * `POST /api/auth/password/reset`: the token from the mailed link and the new password. Every
       * token and session of the person stops working: they log in again with the new password (a
       * token of theirs this client holds is kept, and refused from then on). A token unknown,
       * expired, used or replaced by a newer request: 400 `INVALID_RESET_TOKEN`; a password too easy
       * to guess: 400 `WEAK_PASSWORD`, a `details` entry (path `/password`) per problem. Sent
       * without the client's credential.
       */
      resetPassword: (body: C.ResetPasswordInput) =>
        req<C.ResetPasswordResult>('POST', '/api/auth/password/reset', { body, auth: false }),
      /**
       * `POST /api/auth/password`: the client's person changes their password, with the current
       * one. Every session of theirs ends, this client's too, and the answer's token (a new session)
       * replaces the current one, open sockets included, as a login's does; the person's other
       * devices sign in again. A wrong current password: 403 `WRONG_PASSWORD` (counted as a login's
       * guess); a new one too easy to guess: 400 `WEAK_PASSWORD`; an account without a password:
       * 409 `PASSWORD_NOT_SET` (`forgotPassword` mails a link to set one); a guest session or an
       * API key: 403 `PERSON_REQUIRED`; too many changes: 429 `RATE_LIMITED` (`retryAfter`).
       */
      async changePassword(body: C.ChangePasswordInput): Promise<C.AuthResult> {
        const r = await req<C.AuthResult>('POST', '/api/auth/password', { body })
        if (r?.token) adopt(r.token, r.user.id)
        return r
      },
      /**
       * `POST /api/auth/email/verification`: mails the client's person a link to confirm their
       * address, working once, for 24 hours (a newer request replaces it). `sent`, or
       * `already_verified` when there is nothing to confirm. A person's token only: a guest session
       * or an API key is 403 `PERSON_REQUIRED`. The server cannot send mail: 503
       * `MAIL_UNAVAILABLE`; more than 3 an hour: 429 `RATE_LIMITED` (`retryAfter`). With
       * `{ campaign }` (one the person joined, else 404 `NOT_A_MEMBER`) the link opens that
       * campaign's page, as one mailed at the join does: a page's "send it again".
       */
      requestEmailVerification: (body?: C.EmailVerificationRequestInput) =>
        req<C.EmailVerificationRequestResult>(
          'POST',
          '/api/auth/email/verification',
          body ? { body } : undefined,
        ),
      /**
       * `POST /api/auth/email`: the client's person asks to move their account to another address,
       * with their password. `{status: 'sent', email}`: a link confirming it went to the new
       * address, and `verifyEmail` with its token makes it the account's (until then nothing
       * changes). Codes: `WRONG_PASSWORD` (403, counted as a login's guess), `EMAIL_UNCHANGED`
       * (400), `EMAIL_TAKEN` and `PASSWORD_NOT_SET` (409), `PERSON_REQUIRED` (403),
       * `RATE_LIMITED` (429: 3 an hour), `MAIL_UNAVAILABLE` (503).
       */
      changeEmail: (body: C.ChangeEmailInput) =>
        req<C.ChangeEmailResult>('POST', '/api/auth/email', { body }),
      /**
       * `POST /api/auth/email/verify`: the token from the mailed link confirms the address
       * (`email_verified_at`). A token unknown, expired, used, replaced by a newer link, or sent
       * to an address the person has since changed: 400 `INVALID_VERIFICATION_TOKEN`; the link of
       * an address change (`changeEmail`) whose address another account took meanwhile: 409
       * `EMAIL_TAKEN`; too many
       * tries: 429 `RATE_LIMITED`. Sent without the client's credential (the link may be opened in
       * any browser), whose token stays as it is.
       */
      verifyEmail: (body: C.VerifyEmailInput) =>
        req<C.VerifyEmailResult>('POST', '/api/auth/email/verify', { body, auth: false }),
      /**
       * `POST /api/auth/refresh`: a new token for the client's person token, before it expires (a
       * fresh `expires_at`, the role the person holds now, the same session). It replaces the
       * current one, open sockets included, as a login's does; a token logged out, cut off or of an
       * erased person is refused (401 `TOKEN_REVOKED`), a guest's 403 `USER_TOKEN_REQUIRED`. A
       * session older than the server's SESSION_MAX_AGE_SECONDS (counted from the join or login,
       * never moved by a refresh) rejects with an `OvasabiError` of code `SESSION_EXPIRED` (401):
       * no retry renews it, the person logs in again. The current token is kept until it expires.
       */
      async refresh(): Promise<C.AuthResult> {
        const r = await req<C.AuthResult>('POST', '/api/auth/refresh')
        if (r?.token) adopt(r.token, r.user.id)
        return r
      },
      /**
       * `DELETE /api/user/{id}`: the person (themself, or anyone by an admin) is erased: their
       * personal data goes from their account, leads, media, streams and analytics; counters stay.
       * Another person's id without the admin role: 403; an unknown one: 404 `USER_NOT_FOUND`;
       * Redis unreachable: 503 `REDIS_UNAVAILABLE`, nothing erased (retry after `Retry-After`).
       */
      erase: (userId: string) => req<C.EraseResult>('DELETE', `/api/user/${enc(userId)}`),
      /**
       * `POST /api/auth/logout`: every token of this session stops working (user and guest alike).
       * The client forgets its token and closes the sockets `connect()` opened on it.
       */
      logout: () => logout(false),
      /**
       * `POST /api/auth/logout/all`: every session of the person ends (a user token only), this
       * one included; the client forgets its token and closes its sockets as `logout()` does.
       */
      logoutEverywhere: () => logout(true),
    },

    people: {
      /** `GET /api/users` (admin): people who joined, newest first; page on with `before: last.id`. */
      list: (q: C.PeopleQuery = {}) => req<C.PeopleList>('GET', '/api/users', { query: { ...q } }),
      /**
       * `PUT /api/user/{id}/role` (admin). Editor and admin need a person with a password (409
       * `PASSWORD_REQUIRED`); the last admin person cannot lower their own role (409 `LAST_ADMIN`).
       */
      setRole: (id: string, role: C.PersonRole) =>
        req<C.RoleChange>('PUT', `/api/user/${enc(id)}/role`, { body: { role } }),
    },

    apiKeys: {
      /**
       * `POST /api/apikeys` (admin, a key for every campaign or an admin person): the new key, its
       * `key` shown only in this answer. Unknown `campaigns` are 404 `CAMPAIGN_NOT_FOUND`.
       */
      create: (body: C.ApiKeyInput) => req<C.CreatedApiKey>('POST', '/api/apikeys', { body }),
      /** `GET /api/apikeys` (admin): every key, newest first, with its `status`; never the key. */
      list: () => req<C.ApiKeyList>('GET', '/api/apikeys'),
      /**
       * `DELETE /api/apikeys/{id}` (admin): refused at once on every node. Unknown: 404
       * `API_KEY_NOT_FOUND`; the configured `OVASABI_ADMIN_KEY`: 409 `CONFIGURED_API_KEY`.
       */
      revoke: (id: string) => req<C.RevokedApiKey>('DELETE', `/api/apikeys/${enc(id)}`),
    },

    quotes: {
      /** `POST /api/quote`; `result.lead_id` names the lead whose status then arrives live. */
      submit: (body: C.QuoteInput, opts: { idempotencyKey?: string } = {}) =>
        req<C.QuoteSubmitResult>('POST', '/api/quote', {
          body,
          headers: opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : undefined,
        }),
      /**
       * `GET /api/quote/{id}`: where a lead stands, for the session or user that submitted it
       * (404 `LEAD_NOT_FOUND` for anyone else). Read it again after `resync_required`: the status
       * notifications that were lost are not replayed.
       */
      get: (leadId: string) =>
        req<{ lead_id: string; campaign: string; status: C.LeadStatus; updated_at: string }>(
          'GET',
          `/api/quote/${enc(leadId)}`,
        ),
    },

    leads: {
      list: (
        slug: string,
        q: Query & { status?: string; q?: string; page?: number; per_page?: number } = {},
      ) => req<C.LeadList>('GET', `/api/campaign/${enc(slug)}/leads`, { query: q }),
      setStatus: (slug: string, id: string | number, status: C.LeadStatus) =>
        req<C.Lead>('PATCH', `/api/campaign/${enc(slug)}/leads/${enc(String(id))}`, { body: { status } }),
      /** GDPR erasure of one lead (admin): its personal fields cleared, the row kept. */
      erase: (slug: string, id: string | number) =>
        req<C.Lead>('DELETE', `/api/campaign/${enc(slug)}/leads/${enc(String(id))}`),
      /** The CSV export as text. No deadline: a large campaign's export streams for as long as it takes. */
      csv: (slug: string, q: Query = {}) =>
        req<string>('GET', `/api/campaign/${enc(slug)}/leads.csv`, { query: q, text: true, timeoutMs: 0 }),
      csvUrl: (slug: string) => http.url(`/api/campaign/${enc(slug)}/leads.csv`),
    },

    referrals: {
      apply: (body: C.ReferralInput) => req<C.ReferralResult>('POST', '/api/referral', { body }),
      leaderboard: (slug: string, limit?: number) =>
        req<C.Leaderboard>('GET', `/api/campaign/${enc(slug)}/referrals/leaderboard`, { query: { limit } }),
    },

    translation: {
      translate: (body: C.TranslateInput, signal?: AbortSignal) =>
        req<C.TranslateResult>('POST', '/api/translate', { body, signal }),
      languages: () => req<C.Languages>('GET', '/api/translate/languages'),
      /** `GET /api/campaign/{slug}/catalog`: the campaign's own translations (any session). */
      catalog: (slug: string) => req<C.CatalogView>('GET', `/api/campaign/${enc(slug)}/catalog`),
      /** `PUT /api/campaign/{slug}/catalog` (admin): replaces the whole catalog. */
      setCatalog: (slug: string, entries: C.Catalog) =>
        req<C.CatalogView>('PUT', `/api/campaign/${enc(slug)}/catalog`, { body: entries }),
    },

    media: {
      /** `media.upload` through the action endpoint: a signed, single-use upload URL. */
      requestUpload: (campaign: string, body: C.MediaUploadInput, opts?: ActionOptions) =>
        action<C.MediaUpload>(campaign, 'media.upload', body, opts),
      /**
       * PUT the bytes to the signed URL; `onProgress` gets 0–1 (XHR in browsers, whole-body in
       * Node). Fails with `TIMEOUT` or `ABORTED` as `PutOptions` says.
       */
      put: (
        uploadUrl: string,
        body: Blob | ArrayBuffer | Uint8Array,
        onProgress?: (fraction: number) => void,
        opts: PutOptions = {},
      ) =>
        putBytes(
          http,
          options.fetch,
          uploadUrl,
          body,
          onProgress,
          opts.timeoutMs ?? options.timeoutMs,
          opts.signal,
        ),
      /**
       * `GET /api/campaign/{slug}/media` (editor): newest first, `limit` at a time (default 100, at
       * most 500). Page on with `before`: the last `media_id` of the page before; `status` picks one
       * state (e.g. `failed`). An empty page is the end.
       */
      list: (slug: string, q: C.MediaListQuery = {}) =>
        req<{ media: C.Media[] }>('GET', `/api/campaign/${enc(slug)}/media`, { query: { ...q } }),
      /**
       * `DELETE /api/campaign/{slug}/media/{id}` (its uploader or an editor): the bytes and the
       * thumbnail go and the storage quota is freed; an unused upload URL stops working.
       */
      remove: (slug: string, mediaId: string) =>
        req<void>('DELETE', `/api/campaign/${enc(slug)}/media/${enc(mediaId)}`),
      /**
       * `GET /api/media/{id}`: where an upload stands, for the session or user that uploaded it
       * (404 `MEDIA_NOT_FOUND` for anyone else, and once it is deleted): what its `media_event`s
       * say, `reason` once `failed`, `url`, `thumbnail_url` and `size` once `ready`. Read it again
       * after `resync_required`: the `media_event`s that were lost are not replayed.
       */
      get: (mediaId: string) =>
        req<{
          media_id: string
          campaign: string
          status: C.MediaStatus
          reason?: string
          content_type: string
          size?: number
          url?: string
          thumbnail_url?: string
          updated_at: string
        }>('GET', `/api/media/${enc(mediaId)}`),
    },

    streams: {
      start: (campaign: string, body: C.StreamStartInput, opts?: ActionOptions) =>
        action<C.CampaignStream>(campaign, 'stream.start', body, opts),
      pause: (campaign: string, streamId: string | number, opts?: ActionOptions) =>
        action<C.CampaignStream>(campaign, 'stream.pause', { stream_id: streamId }, opts),
      stop: (campaign: string, streamId: string | number, opts?: ActionOptions) =>
        action<C.CampaignStream>(campaign, 'stream.stop', { stream_id: streamId }, opts),
      /**
       * The same steps over their REST routes (same service, roles and errors): `create`, `start`,
       * `pause`, `stop`, `resetKey`. `{ idempotencyKey }` is sent as `Idempotency-Key`, so a retry
       * with it runs nothing again (see `StreamRestOptions`).
       */
      rest: streamRestCalls(http),
      /**
       * The campaign's streams that have not ended (any session of the campaign may read it): what
       * `stream_event`s say, for a page that lost some (`resync_required`). A stream not listed has ended.
       */
      live: (campaign: string) =>
        req<{
          streams: Array<{
            stream_id: number
            title: string
            status: 'starting' | 'live' | 'paused'
            /** When it last went live; null while starting. */
            started_at: string | null
            /** Where viewers watch it (as its status frames tell). */
            playback_url: string
            /** Live streams only. */
            viewers?: number
            /** The caller started it: it may take it live, pause and end it. */
            mine: boolean
          }>
        }>('GET', `/api/campaign/${enc(campaign)}/streams/live`),
    },

    webhooks: webhookCalls(http),

    /** The StreamSource-compatible registry (`/api/v1`). */
    streamSource: {
      list: (q: C.SourceStreamQuery = {}) =>
        req<C.SourceStreamList>('GET', '/api/v1/streams', { query: q as Query }),
      get: (id: string | number) =>
        req<{ stream: C.SourceStream }>('GET', `/api/v1/streams/${enc(String(id))}`),
      create: (body: Partial<C.SourceStream> & { link: string }) =>
        req<{ stream: C.SourceStream }>('POST', '/api/v1/streams', { body }),
      update: (id: string | number, body: Partial<C.SourceStream>) =>
        req<{ stream: C.SourceStream }>('PATCH', `/api/v1/streams/${enc(String(id))}`, { body }),
      remove: (id: string | number) => req<unknown>('DELETE', `/api/v1/streams/${enc(String(id))}`),
      pin: (id: string | number) =>
        req<{ stream: C.SourceStream }>('PUT', `/api/v1/streams/${enc(String(id))}/pin`),
      unpin: (id: string | number) =>
        req<{ stream: C.SourceStream }>('DELETE', `/api/v1/streams/${enc(String(id))}/pin`),
      archive: (id: string | number) =>
        req<{ stream: C.SourceStream }>('PATCH', `/api/v1/streams/${enc(String(id))}`, {
          body: { is_archived: true },
        }),
    },

    amadeus: {
      graph: (q: { type?: string } = {}) => req<C.LiveGraph>('GET', '/api/amadeus/graph', { query: q }),
      impact: (node: string) => req<C.Impact>('GET', '/api/amadeus/impact', { query: { node } }),
      diagram: (q: { focus?: string; depth?: number } = {}) =>
        req<string>('GET', '/api/amadeus/diagram.mmd', { query: q, text: true }),
    },

    /**
     * Open the real-time socket for a campaign (reconnects with backoff, resumes with `since`).
     * Without `opts.token` it uses the client's token, asked at every (re)connect, and its user
     * (unless `opts.userId` names one); `register`/`login` move it to the user, a logout closes it.
     */
    connect(campaign: string, opts: Omit<RealtimeOptions, 'baseUrl' | 'campaign'> = {}) {
      const conn = connectRealtime({
        WebSocket: options.WebSocket,
        fetch: options.fetch,
        ...opts,
        userId: opts.userId ?? (opts.token === undefined ? claimsOf(http.token).userId : undefined),
        campaign,
        baseUrl: http.baseUrl,
        token: opts.token ?? (() => http.token),
        frequency:
          opts.frequency ??
          (async () => {
            const c = await client.campaigns.get(campaign)
            return Number((c.metadata as { scheduling?: { frequency?: unknown } }).scheduling?.frequency ?? 1)
          }),
      }) satisfies RealtimeConnection
      if (opts.token === undefined && conn.state !== 'closed') {
        sockets.add(conn)
        conn.onState((s) => s === 'closed' && sockets.delete(conn))
      }
      return conn
    },
  }
  return client
}

export type OvasabiClient = ReturnType<typeof createClient>
