import type { FastifyServerOptions } from 'fastify'

/**
 * Query parameters whose values never reach a log: credentials (the socket's `token`) and
 * personal data (an editor's lead search by `email` or by name, `q`). Logs outlive an erasure.
 */
const WITHHELD_PARAMS = new Set(['token', 'access_token', 'api_key', 'apikey', 'password', 'email', 'q'])
/** Paths that are capabilities: the signed upload URL `media.upload` hands out. */
const CAPABILITY_PATH = /^(\/media\/upload\/)[^/?#]+/

/** A request URL as logged: capability paths and withheld query values replaced. */
export function loggableUrl(url: string): string {
  const at = url.indexOf('?')
  const path = (at < 0 ? url : url.slice(0, at)).replace(CAPABILITY_PATH, '$1[redacted]')
  if (at < 0) return path
  const query = url
    .slice(at + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=')
      const raw = eq < 0 ? part : part.slice(0, eq)
      let name = raw
      try {
        name = decodeURIComponent(raw.replace(/\+/g, ' '))
      } catch {
        // a malformed escape: judged by its raw name
      }
      return WITHHELD_PARAMS.has(name.toLowerCase()) ? `${raw}=[redacted]` : part
    })
    .join('&')
  return `${path}?${query}`
}

/** pino options: JSON lines with the request id; credentials never logged. */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'req.headers["sec-websocket-protocol"]',
        '*.password',
        '*.token',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (req) => ({
        method: req.method,
        url: loggableUrl(String(req.url)),
        ip: req.ip,
      }),
    },
  }
}
