import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'

/** Whether the peer at `address` (`hop` proxies away) may tell us who its client is. */
export type TrustProxy = (address: string, hop: number) => boolean

/**
 * `TRUST_PROXY`: `false` (default: the socket's address is the client, `X-Forwarded-For` is
 * ignored, so no client can choose its own rate-limit key), `true` (every peer is trusted: only
 * behind a proxy that overwrites the header), or the proxies' addresses and CIDRs, comma-separated
 * (`10.0.0.0/8, loopback`; names as `@fastify/proxy-addr` knows them). A bad entry throws.
 */
export function compileTrustProxy(setting: string): TrustProxy {
  const value = setting.trim().toLowerCase()
  if (value === 'false' || value === '') return () => false
  if (value === 'true') return () => true
  return proxyAddr.compile(
    setting
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
}

/** The client's address as Fastify's `request.ip` gives it, for a request Fastify never sees (a WebSocket upgrade). */
export function clientIp(req: IncomingMessage, trust: TrustProxy): string {
  const chain = proxyAddr.all(req, trust)
  return chain[chain.length - 1] ?? ''
}

/** Fastify's `trustProxy` option for the setting: `false` keeps its plain (faster) `request.ip`. */
export function fastifyTrustProxy(setting: string): false | TrustProxy {
  return setting.trim().toLowerCase() === 'false' ? false : compileTrustProxy(setting)
}
