import type { FastifyInstance } from 'fastify'

/** A route the app serves, as Fastify registered it (`url` with the plugin prefix). */
export interface ServedRoute {
  method: string
  url: string
  /**
   * Whether the route's schema names a security requirement (what its OpenAPI operation shows
   * callers); undefined for a route without a schema or hidden from the document, which says
   * nothing either way.
   */
  secured?: boolean
}

/**
 * Records every route registered on `app` from now on, in every plugin (an `onRoute` hook on the
 * root instance), so validation can find a served route that no manifest declares. Call it right
 * after the instance is created, before anything registers a route.
 */
export function collectServedRoutes(app: FastifyInstance): ServedRoute[] {
  const routes: ServedRoute[] = []
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { security?: unknown[]; hide?: boolean } | undefined
    const secured = schema && !schema.hide ? (schema.security?.length ?? 0) > 0 : undefined
    for (const method of [route.method].flat())
      routes.push({ method, url: route.url, ...(secured === undefined ? {} : { secured }) })
  })
  return routes
}
