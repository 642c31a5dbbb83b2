import type { FastifyInstance, onRequestHookHandler, RouteOptions } from 'fastify'

type Hooks = onRequestHookHandler | onRequestHookHandler[]

const list = (hooks: Hooks | undefined): onRequestHookHandler[] => (hooks ? [hooks].flat() : [])

/**
 * Registers a rate limit (`register` registers @fastify/rate-limit) so that it counts a request
 * before the route's own `onRequest` hooks run. The plugin appends its hook after a route's, and
 * a route's hooks are where it checks the caller (`onRequest: app.requireRole('admin')`): a
 * refused request ended there, before any limit saw it, so guessing at credentials on an admin
 * route was counted by no limit at all. A route's hooks are set aside while the limit adds its
 * own, then put back after it. Call it before the routes it should cover are registered.
 */
export async function registerLimitFirst(app: FastifyInstance, register: () => PromiseLike<unknown>) {
  const routeHooks = new WeakMap<RouteOptions, Hooks>()
  app.addHook('onRoute', (route) => {
    if (!route.onRequest) return
    routeHooks.set(route, route.onRequest)
    route.onRequest = undefined
  })
  await register()
  app.addHook('onRoute', (route) => {
    const own = routeHooks.get(route)
    if (own) route.onRequest = [...list(route.onRequest), ...list(own)]
  })
}
