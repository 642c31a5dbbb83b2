import type { FastifyServerOptions } from 'fastify'

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
        url: String(req.url).replace(/token=[^&]+/, 'token=[redacted]'),
        ip: req.ip,
      }),
    },
  }
}
