import { BadRequestError } from '../../platform/http/errors.js'

export const PASSWORD_MIN_LENGTH = 10
/** `aaaaaaaaa1` or `1212121212a` is 10 characters long and guessed in a moment. */
export const PASSWORD_MIN_DISTINCT = 5

/**
 * The strength rule: at least 10 characters, at least one letter and one non-letter, at least 5
 * different characters (so not one or two repeated), and not containing the email's local part.
 * Judged on the NFKC form, the one hashed (see `derive`) and so the one a guesser must find: a
 * decomposed accent (`e` + U+0301) is one character, and the address typed in fullwidth letters
 * (`ａｄａ…`, as an input method types it) is the address.
 */
export function assertStrongPassword(typed: string, email: string): void {
  const password = typed.normalize('NFKC')
  const problems: string[] = []
  if ([...password].length < PASSWORD_MIN_LENGTH)
    problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters`)
  if (!/\p{L}/u.test(password) || !/[^\p{L}]/u.test(password))
    problems.push('must contain a letter and a digit or symbol')
  if (new Set(password.toLowerCase()).size < PASSWORD_MIN_DISTINCT)
    problems.push(`must use at least ${PASSWORD_MIN_DISTINCT} different characters`)
  const local = email.split('@')[0] ?? ''
  if (local.length >= 4 && password.toLowerCase().includes(local))
    problems.push('must not contain your email')
  if (problems.length > 0) {
    throw new BadRequestError(
      'Password is too weak',
      'WEAK_PASSWORD',
      problems.map((message) => ({ path: '/password', message })),
    )
  }
}
