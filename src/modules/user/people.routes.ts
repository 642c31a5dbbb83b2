import type { FastifyPluginAsync } from 'fastify'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import { PeopleList, PeopleQuery } from './people.schema.js'
import type { UserService } from './user.service.js'

export interface PeopleRoutesOptions {
  users: Pick<UserService, 'listPeople'>
}

/** The people an admin grants roles to (the console's People page; `PUT /api/user/{id}/role` grants). */
export const peopleRoutes: FastifyPluginAsync<PeopleRoutesOptions> = async (app, { users }) => {
  app.get(
    '/api/users',
    {
      onRequest: app.requireRole('admin'),
      schema: {
        operationId: 'listPeople',
        tags: ['user'],
        security: SecuredBy,
        description:
          'People who joined (erased ones left out), newest first, `per_page` at a time, for an admin ' +
          '(an admin key or an admin person) to find whom to give a role. Filter by `role` and by ' +
          '`q`, text in the address or the display name. Page with `before`, the last id seen; ' +
          '`has_more` says whether another page follows. No password, consent or metadata is shown.',
        querystring: PeopleQuery,
        response: { 200: PeopleList, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { per_page, ...filters } = request.query as PeopleQuery & { per_page: number }
      return users.listPeople(filters, per_page)
    },
  )
}
