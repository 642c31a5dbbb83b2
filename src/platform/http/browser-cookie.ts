import type { IncomingMessage } from 'node:http'

/**
 * A cookie of a raw request (WebSocket upgrades skip Fastify's cookie parsing), percent-decoded
 * when it decodes; undefined when absent or empty.
 */
export function requestCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of req.headers.cookie?.split(';') ?? []) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim()
      try {
        return decodeURIComponent(raw) || undefined
      } catch {
        return raw || undefined
      }
    }
  }
  return undefined
}

/**
 * Whether a page at the request's `Origin` may use the ambient cookie: no Origin (not a browser),
 * the request's own host, `publicUrl`'s origin, or one listed in `allowed` (`CORS_ORIGINS`).
 * Browsers send cookies on cross-site WebSocket handshakes (a `SameSite=None` cookie, or a sibling
 * subdomain) and CORS does not cover WebSockets, so without this any page could open a socket as
 * its visitor and act for them. `/ws` and `/cable` both ask it.
 */
export function originAllowed(req: IncomingMessage, allowed: readonly string[], publicUrl?: string): boolean {
  const origin = req.headers.origin
  if (!origin) return true
  if (allowed.includes(origin)) return true
  try {
    const o = new URL(origin)
    if (publicUrl && o.origin === new URL(publicUrl).origin) return true
    return o.host === req.headers.host
  } catch {
    return false
  }
}
