import type { IncomingMessage, ServerResponse } from 'node:http'
import helmet, { type HelmetOptions } from 'helmet'

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
