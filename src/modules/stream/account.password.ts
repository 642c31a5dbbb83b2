// Hashing is the platform's (`platform/auth/password-hash.ts`), as for people; this is the
// registry's own strength rule, StreamSource's wording included.

/** StreamSource's rule: at least 8 characters with a lower-case letter, an upper-case letter and a digit. */
export function passwordProblems(password: string): string[] {
  const problems: string[] = []
  if (password.length < 8) problems.push('is too short (minimum is 8 characters)')
  if (password.length > 128) problems.push('is too long (maximum is 128 characters)')
  if (!/[a-z]/.test(password) || !/[A-Z]/.test(password) || !/\d/.test(password))
    problems.push('must include at least one lowercase letter, one uppercase letter, and one number')
  return problems
}
