import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { ServiceUnavailableError } from '../platform/http/errors.js'
import { errors } from '../platform/http/schemas.js'

export interface WebOptions {
  /** The Vite build output (`web/dist`). */
  distDir: string
  /** Campaign shown at `/`. */
  defaultCampaign: string
}

const SLUG = '^[a-z0-9][a-z0-9_-]{0,63}$'
const PLACEHOLDER = '__OVASABI_CAMPAIGN__'
const Html = Type.String({ description: 'text/html' })

/**
 * The pages are static builds; the only thing the server writes into them is the campaign slug
 * (in a `<meta>` tag: the CSP allows no inline script). Registered after the API routes, so it
 * never shadows one.
 */
export const webRoutes: FastifyPluginAsync<WebOptions> = async (app, opts) => {
  const indexFile = join(opts.distDir, 'index.html')
  const adminFile = join(opts.distDir, 'admin.html')
  const built = existsSync(indexFile) && existsSync(adminFile)
  if (!built)
    app.log.warn({ dir: opts.distDir }, 'web site not built: run `npm run build` to serve / and /admin')
  // Read once: the build is immutable for the life of the process.
  const site = built ? readFileSync(indexFile, 'utf8') : ''
  const admin = built ? readFileSync(adminFile, 'utf8') : ''
  const favicon =
    built && existsSync(join(opts.distDir, 'favicon.svg'))
      ? readFileSync(join(opts.distDir, 'favicon.svg'))
      : undefined

  if (built) {
    await app.register(fastifyStatic, {
      root: join(opts.distDir, 'assets'),
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      // File names carry content hashes, so they can be cached for good.
      immutable: true,
      maxAge: '365d',
    })
  } else {
    // The same route the static plugin serves, so `/assets/*` always exists (and says why it is empty).
    app.get('/assets/*', { schema: { hide: true } }, async () => {
      throw new ServiceUnavailableError('The web site is not built; run `npm run build`', 'SITE_NOT_BUILT')
    })
  }

  const page = (reply: FastifyReply, html: string) => {
    if (!built)
      throw new ServiceUnavailableError('The web site is not built; run `npm run build`', 'SITE_NOT_BUILT')
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html)
  }
  const sitePage = (slug: string) => site.replace(PLACEHOLDER, slug)
  const tags = ['web']

  app.get(
    '/',
    { schema: { operationId: 'getSitePage', tags, response: { 200: Html, ...errors(503) } } },
    async (_request, reply) => page(reply, sitePage(opts.defaultCampaign)),
  )
  app.get(
    '/c/:campaign',
    {
      schema: {
        operationId: 'getCampaignPage',
        tags,
        params: Type.Object({ campaign: Type.String({ pattern: SLUG }) }),
        response: { 200: Html, ...errors(400, 503) },
      },
    },
    async (request, reply) => page(reply, sitePage((request.params as { campaign: string }).campaign)),
  )
  for (const url of ['/admin', '/admin/*']) {
    app.get(
      url,
      {
        schema: {
          operationId: url === '/admin' ? 'getAdminConsole' : 'getAdminConsoleDeepLink',
          tags,
          response: { 200: Html, ...errors(503) },
        },
      },
      async (_request, reply) => page(reply, admin),
    )
  }
  app.get('/favicon.svg', { schema: { hide: true } }, async (_request, reply) => {
    if (!favicon) return reply.callNotFound()
    return reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(favicon)
  })
}
