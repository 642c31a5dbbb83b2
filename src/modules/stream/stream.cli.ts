import { parseArgs } from 'node:util'
import type { Config } from '../../config.js'
import { createPlatform } from '../../platform/platform.js'
import { createAccountService } from './account.service.js'
import { STREAMSOURCE_USER_HELP } from './stream.cli-help.js'
import { ACCOUNT_ROLES, type AccountRole } from './stream.schema.js'

/**
 * A value as the terminal may show it: control characters (an ESC sequence in an email stored
 * before sign-up refused them could retitle or recolour the admin's terminal) as `\u` escapes.
 */
const printable = (value: string) =>
  value.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

/** `ovasabi streamsource-user …`: manage registry accounts without the HTTP API. */
export async function streamSourceUserCommand(config: Config, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      role: { type: 'string' },
      service: { type: 'boolean' },
      'no-service': { type: 'boolean' },
      password: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  })
  const role = values.role as AccountRole | undefined
  if (role !== undefined && !ACCOUNT_ROLES.includes(role))
    throw new Error(`--role must be one of ${ACCOUNT_ROLES.join(', ')}`)
  const platform = await createPlatform(config)
  try {
    const accounts = createAccountService({
      db: platform.database.db,
      apiKeys: platform.apiKeys,
      secret: config.JWT_SECRET,
      // With Redis, running nodes hear of a cut-off at once and close its `/cable` sockets.
      bus: platform.bus,
    })
    const [sub, id] = positionals
    if (sub === 'create') {
      // The password comes from the environment so it stays out of shell history and `ps`.
      const user = await accounts.create({
        email: values.email ?? '',
        password: process.env.STREAMSOURCE_PASSWORD ?? '',
        role,
        is_service_account: values.service === true,
      })
      console.log(
        values.json ? JSON.stringify(user) : `Created ${printable(user.email)} (#${user.id}, ${user.role})`,
      )
      return 0
    }
    if (sub === 'list') {
      const { users } = await accounts.list(1, 10_000)
      if (values.json) console.log(JSON.stringify(users))
      else
        for (const u of users)
          console.log(`${u.id}\t${printable(u.email)}\t${u.role}${u.is_service_account ? '\tservice' : ''}`)
      return 0
    }
    if ((sub === 'set' || sub === 'revoke') && id && !/^\d{1,15}$/.test(id)) {
      console.error(`Account id must be a number, not ${JSON.stringify(printable(id))}`)
      return 2
    }
    if (sub === 'revoke' && id) {
      const { user, tokens_valid_after } = await accounts.revokeTokens(Number(id))
      console.log(`#${user.id} ${printable(user.email)}: tokens issued before ${tokens_valid_after} refused`)
      return 0
    }
    if (sub === 'set' && id) {
      const service = values.service ? true : values['no-service'] ? false : undefined
      if (values.password) await accounts.setPassword(Number(id), process.env.STREAMSOURCE_PASSWORD ?? '')
      const user = await accounts.update(Number(id), {
        ...(role ? { role } : {}),
        ...(service !== undefined ? { is_service_account: service } : {}),
      })
      console.log(
        `#${user.id} ${printable(user.email)}: ${user.role}${user.is_service_account ? ', service account' : ''}`,
      )
      return 0
    }
    console.error(STREAMSOURCE_USER_HELP)
    return 2
  } finally {
    await platform.close()
  }
}
