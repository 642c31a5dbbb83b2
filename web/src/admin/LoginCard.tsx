import type { ComponentChildren } from 'preact'
import { OvasabiError } from '../../../client/index.js'
import { Logo } from '../shared/Logo.js'
import { errorText } from './api.js'

/** The card the pages before sign-in share: sign-in, "forgot your password", choosing a new one. */
export function LoginCard({ children }: { children: ComponentChildren }) {
  return (
    <main class="login">
      <div class="login-card">
        <div class="login-brand">
          <Logo />
          <span>Ovasabi console</span>
        </div>
        {children}
      </div>
    </main>
  )
}

/** A refusal, read out as it appears; nothing without `text`. */
export function Alert({ text, testid }: { text: string | undefined; testid?: string }) {
  if (!text) return null
  return (
    <p class="notice" data-tone="danger" role="alert" data-testid={testid}>
      {text}
    </p>
  )
}

/**
 * A 429 as the wait it asks for (`Retry-After`), in words, so the person waits it out rather than
 * trying again at once (which only meets the limit again); any other failure as `errorText` says it.
 */
export function refusalText(err: unknown): string {
  if (!(err instanceof OvasabiError) || err.code !== 'RATE_LIMITED') return errorText(err)
  const seconds = Math.max(1, Math.ceil(err.retryAfter ?? 60))
  const wait =
    seconds < 90 ? `${seconds} second${seconds === 1 ? '' : 's'}` : `${Math.ceil(seconds / 60)} minutes`
  return `Too many tries for now: try again in ${wait}.`
}
