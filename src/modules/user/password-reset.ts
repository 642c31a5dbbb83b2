import { createHash, randomBytes } from 'node:crypto'
import { hashPassword } from '../../platform/auth/password-hash.js'
import { backgroundWork } from '../../platform/concurrency.js'
import type { Db } from '../../platform/db/database.js'
import { clientNetwork } from '../../platform/http/client-network.js'
import { BadRequestError, ServiceUnavailableError, TooManyRequestsError } from '../../platform/http/errors.js'
import type { RateLimiter } from '../../platform/http/rate-limiter.js'
import type { Mailer } from '../../platform/mail.js'
import { type AccountMailTranslation, sendAccountMail } from './account-mail.js'
import { accountEmail } from './email.js'
import type { EmailVerification } from './email-verification.js'
import { endEverySession, type LoggedOut } from './logout.js'
import { assertStrongPassword } from './password.js'
import * as repo from './password-reset.repo.js'
import { findAccount } from './user.repo.js'
import type { Revocations } from './revocations.js'

/** How long a link works. */
export const RESET_TTL_MS = 30 * 60_000

/** What asking for links and using them may cost one client network or one address. */
export interface ResetLimits {
  /** Links asked for from one client network (an IPv4 address, an IPv6 /64), whatever the addresses. */
  requestsPerNetwork: number
  /** Links asked for one address, from all networks: a mailbox is not flooded. */
  requestsPerEmail: number
  requestWindowMs: number
  /** Resets tried from one client network: each costs a password hash. */
  resetsPerNetwork: number
  resetWindowMs: number
}

const DEFAULT_LIMITS: ResetLimits = {
  requestsPerNetwork: 10,
  requestsPerEmail: 3,
  requestWindowMs: 60 * 60_000,
  resetsPerNetwork: 30,
  resetWindowMs: 15 * 60_000,
}

export interface PasswordResetDeps extends AccountMailTranslation {
  db: Db
  limiter: RateLimiter
  /** Unset (no `SMTP_URL`, or nowhere to link to): asking for a link is 503 `MAIL_UNAVAILABLE`. */
  mail?: { mailer: Mailer; resetUrl: string }
  revocations?: Revocations
  /**
   * After a reset from `ip`: the address's login budget there starts again (see
   * `UserService.passwordResetFrom`). Must not throw: the password is set by then.
   */
  onReset?: (email: string, ip: string) => Promise<void>
  /** A reset link proves the person reads the address's mail: it verifies the address too. */
  emailVerification?: Pick<EmailVerification, 'proved'>
  limits?: ResetLimits
  /** A link that could not be made or mailed (the caller was answered before it was tried). */
  onError?: (err: unknown) => void
}

/** The reset mail (no campaign's: a person resets one password for all of them). */
export const RESET_MAIL = {
  subject: 'Choose a new password',
  intro: 'Someone, hopefully you, asked to reset the password of {email} on {site}.',
  action: 'Choose a new password here (the link works once, for {minutes} minutes):',
  ignore: 'If you did not ask, ignore this mail: nothing changes.',
}

/**
 * The notice a change while signed in mails: whoever took a person's session and changed their
 * password learns nothing from it, but the owner learns, and how to win the account back.
 */
export const CHANGED_MAIL = {
  subject: 'Your password was changed',
  intro:
    'The password of {email} on {site} was just changed, and every device signed in with it was signed out.',
  action: 'If it was you, there is nothing to do.',
  ignore:
    'If it was not, choose a new password at once with "Forgot your password?" where you sign in: a link comes to this address.',
}

export interface PasswordReset {
  /** `POST /api/auth/password/forgot`: answers at once; the mail, if any, goes after. */
  forgot(email: string, caller: { ip: string }): Promise<void>
  /** `POST /api/auth/password/reset`: the new password, and every session of the person ends. */
  reset(token: string, password: string, caller: { ip: string }): Promise<void>
  /**
   * A person changed their password while signed in: they are mailed a notice (`CHANGED_MAIL`) in
   * their locale, after this returns; nothing without mail. Never throws.
   */
  changed(person: { email: string; locale: string | null }): void
  /** Erasure: the person's links go. */
  forget(userId: string, trx: Db): Promise<void>
  /** Resolves once every mail asked for so far was sent or failed (shutdown waits for it). */
  idle(): Promise<void>
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** One code for every link that does not work: unknown, expired, used, replaced, its person erased. */
const invalidLink = () =>
  new BadRequestError(
    'This reset link is no longer valid (it expired, was used, or a newer one was sent): ask for a new one',
    'INVALID_RESET_TOKEN',
  )

async function consume(limiter: RateLimiter, key: string, limit: number, windowMs: number): Promise<void> {
  const r = await limiter.consume(key, limit, windowMs)
  if (!r.allowed) throw new TooManyRequestsError(r.retryAfter, 'Too many password reset attempts')
}

/**
 * Gives a person a new password (the join's strength rule, else 400 `WEAK_PASSWORD`), takes their
 * reset links, and ends every session of theirs as "log out everywhere" does, other nodes told
 * once it has committed. `claim` runs first in the transaction, and false from it changes
 * nothing (a reset link used or replaced meanwhile). What it ended, or `undefined` when the
 * person was erased meanwhile. A reset link, a change while signed in and `ovasabi user password`
 * come here.
 */
export async function setPassword(
  deps: { db: Db; revocations?: Revocations },
  user: { id: string; email: string },
  password: string,
  claim?: (trx: Db) => Promise<boolean>,
): Promise<LoggedOut | undefined> {
  assertStrongPassword(password, user.email)
  const hash = await hashPassword(password)
  const ended = await deps.db.transaction().execute(async (trx) => {
    if (claim && !(await claim(trx))) return undefined
    if (!(await repo.setPasswordHash(trx, user.id, hash))) return undefined
    await repo.forgetResetTokens(trx, user.id)
    return endEverySession(trx, user.id, 'password_set')
  })
  if (!ended) return undefined
  await deps.revocations?.revoked({
    user_id: ended.user_id,
    session_ids: ended.session_ids,
    all: ended.tokens_valid_after !== undefined,
  })
  return ended
}

/**
 * Password reset by mail. Asking never tells whether an account has the address: the answer is
 * the same, and comes before the account is even looked up (the look-up, the link and the mail
 * happen after it), so its timing tells nothing either. The link carries a random 256-bit token
 * that only its SHA-256 is stored of; it works once, for 30 minutes, and only the latest sent
 * does. Using it sets the password and ends every session of the person, as "log out everywhere"
 * does: whoever held their account before is out. A passwordless account gets a password this
 * way, so an address someone else joined with is won back by the mailbox's owner.
 */
export function createPasswordReset(deps: PasswordResetDeps): PasswordReset {
  const { db, limiter } = deps
  const limits = deps.limits ?? DEFAULT_LIMITS
  const background = backgroundWork((err) => deps.onError?.(err))

  async function sendLink(typed: string, mail: NonNullable<PasswordResetDeps['mail']>): Promise<void> {
    const user = await findAccount(db, typed)
    if (!user?.email || user.erased_at) return
    const token = randomBytes(32).toString('base64url')
    // Erased since: nothing to reset.
    if (!(await repo.storeResetToken(db, user.id, sha256(token), RESET_TTL_MS))) return
    await sendAccountMail(
      mail.mailer,
      RESET_MAIL,
      {
        to: user.email,
        locale: user.locale,
        prefix: 'mail.reset',
        values: { site: new URL(mail.resetUrl).host, email: user.email, minutes: RESET_TTL_MS / 60_000 },
        link: `${mail.resetUrl}#token=${token}`,
      },
      deps,
    )
  }

  async function sendChangedNotice(
    person: { email: string; locale: string | null },
    mail: NonNullable<PasswordResetDeps['mail']>,
  ): Promise<void> {
    await sendAccountMail(
      mail.mailer,
      CHANGED_MAIL,
      {
        to: person.email,
        locale: person.locale,
        prefix: 'mail.password_changed',
        values: { site: new URL(mail.resetUrl).host, email: person.email },
      },
      deps,
    )
  }

  return {
    async forgot(typed, caller) {
      const mail = deps.mail
      if (!mail) {
        throw new ServiceUnavailableError(
          'This server sends no mail (SMTP_URL and PUBLIC_URL are not both set): an operator sets the password with `ovasabi user password`',
          'MAIL_UNAVAILABLE',
        )
      }
      await consume(
        limiter,
        `reset:ask:${clientNetwork(caller.ip)}`,
        limits.requestsPerNetwork,
        limits.requestWindowMs,
      )
      const emailKey = `reset:email:${sha256(accountEmail(typed)).slice(0, 32)}`
      await consume(limiter, emailKey, limits.requestsPerEmail, limits.requestWindowMs)
      background.run(sendLink(typed, mail))
    },

    changed(person) {
      const mail = deps.mail
      if (mail) background.run(sendChangedNotice(person, mail))
    },

    async reset(token, password, caller) {
      await consume(
        limiter,
        `reset:use:${clientNetwork(caller.ip)}`,
        limits.resetsPerNetwork,
        limits.resetWindowMs,
      )
      const tokenHash = sha256(token)
      const user = await repo.findResetToken(db, tokenHash)
      if (!user?.email) throw invalidLink()
      const email = user.email
      let verified: (() => void) | undefined
      const claim = async (trx: Db) => {
        if ((await repo.takeResetToken(trx, tokenHash)) !== user.id) return false
        verified = await deps.emailVerification?.proved(trx, user.id, email)
        return true
      }
      if (!(await setPassword(deps, { id: user.id, email }, password, claim))) throw invalidLink()
      verified?.()
      await deps.onReset?.(email, caller.ip)
    },

    forget: (userId, trx) => repo.forgetResetTokens(trx, userId),

    idle: background.idle,
  }
}
