import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import helmet, { type HelmetOptions } from 'helmet'
import { beforeRouterAnswer } from './error-handler.js'

/**
 * Helmet's response headers for these options, computed once. `@fastify/helmet` builds a new
 * helmet middleware (parsing the CSP directives again) on every request, ~6 % of the action
 * endpoint's CPU; with static options the headers never change, so they are collected here from
 * one run of the middleware and set as a plain object per request.
 */
export function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const res = {
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader() {},
  }
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err
  })
  return headers
}

/** Stands in the computed CSP for the request's socket origins (helmet runs once, not per request). */
const REQUEST_SOCKET_ORIGINS = 'ovasabi-request-socket-origins'
/** A host as a CSP host-source can name it: a DNS name or IPv4 address and a port (no IPv6 literal). */
const CSP_HOST = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::\d{1,5})?$/i

/**
 * connect-src besides 'self': with PUBLIC_URL its origin (upload URLs are absolute on it) and its
 * WebSocket origin; without it, a placeholder `hostCsp` fills per request with the page's host.
 */
export function connectSources(publicUrl: string | undefined): string[] {
  if (!publicUrl) return [REQUEST_SOCKET_ORIGINS]
  const url = new URL(publicUrl)
  if (!CSP_HOST.test(url.host)) return []
  return [url.origin, `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}`]
}

/**
 * The CSP for a request's host when the computed headers hold the placeholder (no PUBLIC_URL),
 * else undefined. The host is Fastify's `request.host` (X-Forwarded-Host from a proxy
 * `TRUST_PROXY` trusts); both schemes, since behind a TLS proxy the request itself is plain HTTP
 * while the page is HTTPS. A host CSP cannot name adds nothing ('self' still applies).
 */
export function hostCsp(headers: Record<string, string>): ((host: string) => string) | undefined {
  const [head, tail] = (headers['content-security-policy'] ?? '').split(` ${REQUEST_SOCKET_ORIGINS}`)
  if (tail === undefined) return undefined
  return (host) => (CSP_HOST.test(host) ? `${head} ws://${host} wss://${host}${tail}` : head + tail)
}

/**
 * `headers` (from `securityHeaders`, the CSP filled per request by `hostCsp`) on every answer:
 * through an `onRequest` hook (routes, the not-found handler, errors), and on the answers the
 * router gives itself before any hook runs (a URL it cannot read, a segment over its length).
 */
export function applySecurityHeaders(app: FastifyInstance, headers: Record<string, string>): void {
  const cspFor = hostCsp(headers)
  const set = (request: FastifyRequest, reply: FastifyReply) => {
    reply.headers(headers)
    if (cspFor) reply.header('content-security-policy', cspFor(request.host))
  }
  app.addHook('onRequest', (request, reply, done) => {
    set(request, reply)
    done()
  })
  beforeRouterAnswer(app, set)
}
