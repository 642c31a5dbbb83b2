import type { OvasabiError } from '../../../client/index.js'

const MISMATCH = 'The two passwords differ: type the same one in both fields.'

/** The server's reasons for `WEAK_PASSWORD`, one a problem; its message when it names none. */
export function weaknesses(err: OvasabiError): string[] {
  const issues = Array.isArray(err.details) ? (err.details as unknown[]) : []
  const said = issues
    .map((d) => (d as { message?: unknown } | null)?.message)
    .filter((m): m is string => typeof m === 'string' && m.length > 0)
  return said.length > 0 ? said : [err.message]
}

/**
 * Whether the two fields below differ (read from the submitted form): checked before sending, since
 * a typo in a password no one can see would lock the person out.
 */
export const passwordsDiffer = (data: FormData) =>
  String(data.get('password') ?? '') !== String(data.get('confirm') ?? '')

/**
 * A new password typed twice (`password` and `confirm` in the form), with the strength rule as a
 * hint, the server's reasons when it found it `weak`, and the `mismatch` of the two. `prefix` keeps
 * ids and test ids apart between forms (`{prefix}-weak`, `{prefix}-mismatch`).
 */
export function NewPasswordFields({
  prefix,
  weak,
  mismatch,
}: {
  prefix: string
  weak: string[] | undefined
  mismatch: boolean
}) {
  const hint = `${prefix}-new-hint`
  return (
    <>
      <div class="field">
        <label for={`${prefix}-new`}>New password</label>
        <input
          id={`${prefix}-new`}
          name="password"
          type="password"
          autocomplete="new-password"
          required
          aria-invalid={weak ? 'true' : undefined}
          aria-describedby={weak ? `${hint} ${prefix}-weak` : hint}
        />
        <span class="hint" id={hint}>
          At least 10 characters, with a letter and a digit or a symbol.
        </span>
      </div>
      {weak && (
        <div
          class="notice"
          data-tone="danger"
          role="alert"
          id={`${prefix}-weak`}
          data-testid={`${prefix}-weak`}
        >
          <p>This password is too easy to guess. A new password:</p>
          <ul class="login-issues">
            {weak.map((reason) => (
              <li key={reason}>{reason}</li>
            ))}
          </ul>
        </div>
      )}
      <div class="field">
        <label for={`${prefix}-confirm`}>New password again</label>
        <input
          id={`${prefix}-confirm`}
          name="confirm"
          type="password"
          autocomplete="new-password"
          required
          aria-invalid={mismatch ? 'true' : undefined}
          aria-describedby={mismatch ? `${prefix}-mismatch` : undefined}
        />
      </div>
      {mismatch && (
        <p
          class="notice"
          data-tone="danger"
          role="alert"
          id={`${prefix}-mismatch`}
          data-testid={`${prefix}-mismatch`}
        >
          {MISMATCH}
        </p>
      )}
    </>
  )
}
