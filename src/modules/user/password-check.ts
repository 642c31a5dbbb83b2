import type { Db } from '../../platform/db/database.js'
import { hashPassword, needsRehash, verifyPassword } from '../../platform/auth/password-hash.js'
import { replacePasswordHash, type UserRow } from './user.repo.js'

/**
 * Whether `password` is the person's. When it is and their hash was made under earlier parameters
 * (`needsRehash`), it is made again under the current ones while the password is at hand, and
 * stored in place of the one it verified against. Storing it is a bonus, never a condition: a
 * failure is told to `onError` and the login goes on, the old hash verifying as before.
 */
export async function checkPassword(
  db: Db,
  user: Pick<UserRow, 'id' | 'password_hash'>,
  password: string,
  onError?: (err: unknown) => void,
): Promise<boolean> {
  const stored = user.password_hash
  if (!stored || !(await verifyPassword(password, stored))) return false
  if (needsRehash(stored)) {
    try {
      await replacePasswordHash(db, user.id, stored, await hashPassword(password))
    } catch (err) {
      onError?.(err)
    }
  }
  return true
}
