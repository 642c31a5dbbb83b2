import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import type { ActionRegistry } from '../nexus/registry.js'
import { errors, SecuredBy } from '../platform/http/schemas.js'
import type { ModuleRegistry } from '../platform/module.js'

/** `GET /api/amadeus/graph`: the module registry and the action registry as JSON. */
export const amadeusRoutes: FastifyPluginAsync<{ modules: ModuleRegistry; actions: ActionRegistry }> = async (
  app,
  opts,
) => {
  app.get(
    '/api/amadeus/graph',
    {
      onRequest: app.requireRole('admin'),
      schema: {
        operationId: 'getServiceGraph',
        tags: ['amadeus'],
        security: SecuredBy,
        response: {
          200: Type.Object({
            modules: Type.Array(Type.Record(Type.String(), Type.Unknown())),
            actions: Type.Array(
              Type.Object({
                name: Type.String(),
                aliases: Type.Array(Type.String()),
                feature: Type.String(),
                role: Type.String(),
                description: Type.String(),
              }),
            ),
          }),
          ...errors(401, 403),
        },
      },
    },
    async () => ({
      modules: opts.modules.list().map(({ health: _h, ...m }) => ({ ...m, has_health_check: Boolean(_h) })),
      actions: opts.actions.list().map((a) => ({
        name: a.name,
        aliases: a.aliases ?? [],
        feature: a.feature,
        role: a.role,
        description: a.description,
      })),
    }),
  )
}
