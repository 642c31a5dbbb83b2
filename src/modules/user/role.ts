import { hasRole, type Principal } from '../../platform/auth/principal.js'
import type { Db } from '../../platform/db/database.js'
import { ConflictError, ForbiddenError, NotFoundError } from '../../platform/http/errors.js'
import { accountEmail, earlierEmails } from './email.js'
import type { Revocations } from './revocations.js'
import { cutOffTokens } from './user.repo.js'
import { PERSON_ROLES, type PersonRole } from './user.schema.js'

/** A person's role as it was changed: `tokens_valid_after` when it was lowered (their tokens cut off). */
export interface RoleChange {
  id: string
  email: string | null
  role: PersonRole
  previous_role: PersonRole
  tokens_valid_after?: Date
}

/** Who gets the role: a person's id (the API) or their address as they type it (the CLI). */
export type RoleTarget = { id: string } | { email: string }

const rank = (role: PersonRole) => PERSON_ROLES.indexOf(role)

/**
 * Gives a person `role` (issue 7). Only an admin grants: an API key or a person of that role, or
 * the operator through `ovasabi user role` (no `actor`). Their tokens carry their role from their
 * next login; a lowered one also cuts off every token of theirs issued before (as "log out
 * everywhere" does, in the same transaction), so a demoted admin cannot go on with an old token on
 * any node, and their sockets close. Raising cuts nothing off: those tokens carry less than the
 * person now holds. The last admin person cannot lower their own role (409 `LAST_ADMIN`), so a
 * console signed in by password is not left without anyone to grant roles; a key or the CLI may.
 * An erased person, or none, is 404 `USER_NOT_FOUND`. Editor and admin need a person who set a
 * password (409 `PASSWORD_REQUIRED`): the console signs in with one, and a person without one is
 * known only by a guest session, whose token would then carry the role.
 */
export async function changeRole(
  db: Db,
  target: RoleTarget,
  role: PersonRole,
  options: { actor?: Principal; revocations?: Revocations } = {},
): Promise<RoleChange> {
  const { actor } = options
  if (actor && !hasRole(actor, 'admin')) throw new ForbiddenError('Only an admin can change a role')
  const change = await db.transaction().execute(async (trx) => {
    // An admin person changing their own role: every admin row is locked first, in one order, so
    // two admins stepping down at once neither both pass the check below nor deadlock.
    const self = actor?.kind === 'user' && 'id' in target && target.id === actor.user_id
    const admins = self
      ? await trx
          .selectFrom('service_user_master')
          .select('id')
          .where('role', '=', 'admin')
          .where('erased_at', 'is', null)
          .orderBy('id')
          .forUpdate()
          .execute()
      : []
    const person = await lockPerson(trx, target)
    if (!person) throw new NotFoundError('No such person', 'USER_NOT_FOUND')
    const previous = person.role
    if (role !== 'participant' && !person.has_password) {
      throw new ConflictError(
        'This person has no password, so cannot sign in to the console: a console role needs one',
        'PASSWORD_REQUIRED',
      )
    }
    const lowered = rank(role) < rank(previous)
    if (self && lowered && previous === 'admin' && !admins.some((a) => a.id !== person.id)) {
      throw new ConflictError(
        'You are the last admin: make someone else an admin before giving up your own role',
        'LAST_ADMIN',
      )
    }
    const result: RoleChange = { id: person.id, email: person.email, role, previous_role: previous }
    if (role === previous) return result
    await trx
      .updateTable('service_user_master')
      .set({ role, updated_at: new Date() })
      .where('id', '=', person.id)
      .execute()
    if (lowered) result.tokens_valid_after = await cutOffTokens(trx, person.id, new Date())
    return result
  })
  if (change.tokens_valid_after) {
    // Once committed: this node asks the database again, every other one is told (and closes
    // the person's sockets).
    options.revocations?.forget({ user_id: change.id, session_ids: [] })
    await options.revocations?.revoked({ user_id: change.id, session_ids: [], all: true })
  }
  return change
}

/** The person's row, locked for the change; not an erased one. */
async function lockPerson(trx: Db, target: RoleTarget) {
  const candidates =
    'id' in target ? [target.id] : [accountEmail(target.email), ...earlierEmails(target.email)]
  for (const value of candidates) {
    const row = await trx
      .selectFrom('service_user_master')
      .select((eb) => ['id', 'email', 'role', eb('password_hash', 'is not', null).as('has_password')])
      .where('id' in target ? 'id' : 'email', '=', value)
      .where('erased_at', 'is', null)
      .forUpdate()
      .executeTakeFirst()
    if (row) return row
  }
  return undefined
}

/** Whether `role` names a person's role (the CLI's `--role`). */
export function isPersonRole(role: unknown): role is PersonRole {
  return typeof role === 'string' && (PERSON_ROLES as readonly string[]).includes(role)
}
