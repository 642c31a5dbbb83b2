import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let exact: Set<string> | undefined
let wildcard: Set<string> | undefined

/** Loaded on first use: ~120k domains, only needed by campaigns that block disposable addresses. */
function lists() {
  if (!exact || !wildcard) {
    exact = new Set(require('disposable-email-domains') as string[])
    wildcard = new Set(require('disposable-email-domains/wildcard.json') as string[])
  }
  return { exact, wildcard }
}

/**
 * True when the address's domain is on the maintained `disposable-email-domains` list, or is a
 * subdomain of one of its wildcard entries (`x.33mail.com`).
 */
export function isDisposableEmail(email: string): boolean {
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase()
  if (!domain) return false
  const { exact, wildcard } = lists()
  if (exact.has(domain)) return true
  const labels = domain.split('.')
  for (let i = 0; i < labels.length - 1; i++) {
    if (wildcard.has(labels.slice(i).join('.'))) return true
  }
  return false
}
