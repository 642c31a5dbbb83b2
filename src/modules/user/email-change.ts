import { createHash, randomBytes } from 'node:crypto'
import type { Principal } from '../../platform/auth/principal.js'
import { backgroundWork } from '../../platform/concurrency.js'
import type { Db } from '../../platform/db/database.js'
import {
  BadRequestError,
  ConflictError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '../../platform/http/errors.js'
import type { RateLimiter } from '../../platform/http/rate-limiter.js'
import type { Mailer } from '../../platform/mail.js'
import { type AccountMailTranslation, sendAccountMail } from './account-mail.js'
import { accountEmail } from './email.js'
import * as repo from './email-change.repo.js'
import { forgetVerifyTokens } from './email-verification.repo.js'
import { forgetResetTokens } from './password-reset.repo.js'
import { findAccount, type UserRow } from './user.repo.js'

/** How long a link works: as an address confirmation's. */
export const CHANGE_TTL_MS = 24 * 60 * 60_000

/** What asking for changes may cost one person. */
export interface ChangeLimits {
  requestsPerPerson: number
  requestWindowMs: number
}

const DEFAULT_LIMITS: ChangeLimits = { requestsPerPerson: 3, requestWindowMs: 60 * 60_000 }

/** The link mailed to the new address, keyed `mail.email_change.*` in a catalog. */
export const CHANGE_MAIL = {
  subject: 'Confirm your new email address',
  intro: 'Someone, hopefully you, asked to make {email} the address of their account on {site}.',
  action: 'Confirm it here (the link works once, for {hours} hours):',
  ignore: 'If it was not you, ignore this mail: nothing changes.',
}

/** The notice mailed to the address replaced, keyed `mail.email_changed.*` in a catalog. */
export const CHANGED_MAIL = {
  subject: 'Your email address was changed',
  intro: 'The address of your account on {site} was changed from {previous} to {email}.',
  action: 'If it was you, there is nothing to do: mail goes to the new address from now on.',
  ignore: 'If it was not, someone who knows your password did it: tell the people who run {site}.',
}

/** A change a link confirmed, once committed: who, to what, and from what. */
export interface ConfirmedChange {
  userId: string
  email: string
  previous: string
  /** The address was never verified before: this confirmation is its first. */
  firstVerification: boolean
  locale: string | null
}

export interface EmailChangeDeps extends AccountMailTranslation {
  db: Db
  limiter: RateLimiter
  /** The caller's own password checked as a login's guess is (see `UserService.confirmPassword`). */
  confirmPassword: (principal: Principal, password: string, caller: { ip: string }) => Promise<UserRow>
  /** Unset (no `SMTP_URL`, or nowhere to link to): asking is 503 `MAIL_UNAVAILABLE`. */
  mail?: { mailer: Mailer; verifyUrl: string }
  limits?: ChangeLimits
  /** A mail that could not be made or sent (the caller was answered before it was tried). */
  onError?: (err: unknown) => void
}

export interface EmailChange {
  /**
   * `POST /api/auth/email`: with their password, a person asks to move their account to `email`;
   * a link confirming it is mailed there after this returns (the new address as stored).
   */
  request(
    principal: Principal,
    input: { email: string; current_password: string },
    caller: { ip: string },
  ): Promise<string>
  /**
   * Inside the transaction of `POST /api/auth/email/verify`: when `tokenHash` is a change's link,
   * the address becomes the person's (409 `EMAIL_TAKEN` when someone else has it by now).
   */
  take(trx: Db, tokenHash: string): Promise<ConfirmedChange | undefined>
  /** Once a change has committed: the address replaced is told, in the person's locale. */
  changed(change: ConfirmedChange): void
  /** Erasure: the pending change and the former addresses go (read by the erasure first). */
  forget(userId: string, trx: Db): Promise<void>
  /** Resolves once every mail asked for so far was sent or failed (shutdown waits for it). */
  idle(): Promise<void>
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

const taken = () =>
  new ConflictError('Another account has this address: sign in with it, or choose another', 'EMAIL_TAKEN')

/** Whether `err` is PostgreSQL's (and PGlite's) unique violation: an insert or update lost a race. */
const isUniqueViolation = (err: unknown) => (err as { code?: unknown } | null)?.code === '23505'

/**
 * A change of address, proved twice: by the person's password (whoever holds their session does
 * not know it), and by a link mailed to the new address (it is theirs, and typed right). Until the
 * link is used nothing changes: the old address still signs in and gets their mail. Using it makes
 * the new address theirs and verified, keeps the old one among their former addresses (an erasure
 * finds what was stored under it), takes the reset and confirmation links the old one was sent,
 * and tells the old address. Sessions go on: the person is the same, and their password too.
 */
export function createEmailChange(deps: EmailChangeDeps): EmailChange {
  const { db, limiter } = deps
  const limits = deps.limits ?? DEFAULT_LIMITS
  const background = backgroundWork((err) => deps.onError?.(err))

  async function sendLink(user: UserRow, email: string, mail: NonNullable<EmailChangeDeps['mail']>) {
    const token = randomBytes(32).toString('base64url')
    // Erased since: nothing to change.
    if (
      !(await repo.storeChangeToken(db, { userId: user.id, email, tokenHash: sha256(token) }, CHANGE_TTL_MS))
    )
      return
    const link = `${mail.verifyUrl}#token=${token}`
    await sendAccountMail(
      mail.mailer,
      CHANGE_MAIL,
      {
        to: email,
        locale: user.locale,
        prefix: 'mail.email_change',
        values: { site: new URL(link).host, email, hours: CHANGE_TTL_MS / 3_600_000 },
        link,
      },
      deps,
    )
  }

  async function sendNotice(change: ConfirmedChange, mail: NonNullable<EmailChangeDeps['mail']>) {
    await sendAccountMail(
      mail.mailer,
      CHANGED_MAIL,
      {
        to: change.previous,
        locale: change.locale,
        prefix: 'mail.email_changed',
        values: { site: new URL(mail.verifyUrl).host, email: change.email, previous: change.previous },
      },
      deps,
    )
  }

  return {
    async request(principal, input, caller) {
      const mail = deps.mail
      if (!mail) {
        throw new ServiceUnavailableError(
          'This server sends no mail (SMTP_URL and PUBLIC_URL are not both set): an address cannot be confirmed',
          'MAIL_UNAVAILABLE',
        )
      }
      // First, so that asking whether an address is taken costs a password guess.
      const user = await deps.confirmPassword(principal, input.current_password, caller)
      // Counted before the look-up: a right password refunds its login attempt, so without this
      // anyone signed in could ask again and again which addresses have an account.
      const r = await limiter.consume(
        `email:change:${user.id}`,
        limits.requestsPerPerson,
        limits.requestWindowMs,
      )
      if (!r.allowed) throw new TooManyRequestsError(r.retryAfter, 'Too many address changes asked for')
      const email = accountEmail(input.email)
      const holder = await findAccount(db, input.email, email)
      if (holder?.id === user.id) throw new BadRequestError('This is already your address', 'EMAIL_UNCHANGED')
      if (holder) throw taken()
      background.run(sendLink(user, email, mail))
      return email
    },

    async take(trx, tokenHash) {
      const link = await repo.takeChangeToken(trx, tokenHash)
      if (!link) return undefined
      const holder = await findAccount(trx, link.email)
      if (holder && holder.id !== link.user_id) throw taken()
      let swapped: Awaited<ReturnType<typeof repo.swapEmail>>
      try {
        swapped = await repo.swapEmail(trx, link.user_id, link.email)
      } catch (err) {
        // Someone joined with the address between the look-up and the change.
        if (isUniqueViolation(err)) throw taken()
        throw err
      }
      if (!swapped) return undefined
      // Links mailed to the old address: a reset there must not take the account back.
      await forgetResetTokens(trx, link.user_id)
      await forgetVerifyTokens(trx, link.user_id)
      return {
        userId: link.user_id,
        email: link.email,
        previous: swapped.previous,
        firstVerification: !swapped.wasVerified,
        locale: swapped.locale,
      }
    },

    changed(change) {
      const mail = deps.mail
      if (mail && change.previous !== change.email) background.run(sendNotice(change, mail))
    },

    forget: (userId, trx) => repo.forgetEmailChanges(trx, userId),

    idle: background.idle,
  }
}
