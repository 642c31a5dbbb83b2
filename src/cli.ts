import { parseArgs } from 'node:util'
import { KG_HELP } from './amadeus/cli-help.js'
import { flushOutput, ignoreClosedPipes } from './cli-output.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { CAMPAIGN_SLUG } from './platform/auth/apikeys.js'
import { ROLES, type Role } from './platform/auth/principal.js'
import { AppError, NotFoundError } from './platform/http/errors.js'
import { createPlatform } from './platform/platform.js'
import { changeRole, isPersonRole } from './modules/user/role.js'
import { createRevocations } from './modules/user/revocations.js'
import { setPassword } from './modules/user/password-reset.js'
import { findAccount } from './modules/user/user.repo.js'
import { PERSON_ROLES } from './modules/user/user.schema.js'
import { MigrationError, migrateToLatest } from './platform/db/migrate.js'
import { createDatabase } from './platform/db/database.js'
import { ListenError } from './listen-error.js'
import { STREAMSOURCE_USER_HELP } from './modules/stream/stream.cli-help.js'

const HELP = `ovasabi — real-time campaign backend

Usage:
  ovasabi serve                              start the server (what \`npm start\` runs)
  ovasabi migrate                            apply database migrations
  ovasabi apikey create --role R --name N    create an API key, printed once [--json] [--expires-in 30d]
                                             [--campaign slug]… (repeatable: only those campaigns)
  ovasabi apikey list [--json]               list API keys (never the keys themselves)
  ovasabi apikey revoke <id>                 revoke an API key
  ovasabi campaign list [--json]             list campaigns
  ovasabi user role --email E --role R       give a person the participant, editor or admin role [--json]
                                             (editor and admin sign in to the console with their
                                             password; a lowered role signs them out everywhere)
  ovasabi user password --email E            set a person's password, read from standard input
                                             (signs them out everywhere)
${STREAMSOURCE_USER_HELP}
${KG_HELP}

Configuration comes from the environment (and .env); see .env.example.`

type Command = (config: Config, args: string[]) => Promise<number>

async function withPlatform<T>(
  config: Config,
  fn: (p: Awaited<ReturnType<typeof createPlatform>>) => Promise<T>,
): Promise<T> {
  const platform = await createPlatform(config)
  try {
    return await fn(platform)
  } finally {
    await platform.close()
  }
}

// `serve`, `kg` and `streamsource-user` load their modules when run: `serve` and `kg` need the
// whole app (over a second of module loading), which the other commands never touch.
const commands: Record<string, Command> = {
  async 'streamsource-user'(config, args) {
    const { streamSourceUserCommand } = await import('./modules/stream/stream.cli.js')
    return streamSourceUserCommand(config, args)
  },
  async kg(config, args) {
    const { kgCommand } = await import('./amadeus/cli.js')
    return kgCommand(config, args)
  },
  async serve(config, args) {
    noArguments('serve', args)
    const { startServer } = await import('./server.js')
    await startServer(config)
    return -1 // keep running
  },
  async migrate(config, args) {
    noArguments('migrate', args)
    const database = await createDatabase(config)
    try {
      const applied = await migrateToLatest(database.db, {
        onNewer: (names) =>
          console.warn(
            `The database also records ${names.join(', ')}, which this version does not know: ` +
              'a newer version migrated it. Left as they are.',
          ),
      })
      console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.')
    } finally {
      await database.close()
    }
    return 0
  },
  async apikey(config, args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        role: { type: 'string' },
        name: { type: 'string' },
        json: { type: 'boolean' },
        'expires-in': { type: 'string' },
        campaign: { type: 'string', multiple: true },
      },
    })
    const [sub, id] = positionals
    // Read before the database is opened: a mistyped flag costs nothing.
    const expiresAt = sub === 'create' ? expiryFrom(values['expires-in']) : undefined
    for (const slug of values.campaign ?? [])
      if (!CAMPAIGN_SLUG.test(slug))
        throw new UsageError(`--campaign ${JSON.stringify(slug)} is not a campaign slug`)
    const role = (values.role ?? 'admin') as Role
    const name = values.name ?? ''
    if (sub === 'create') {
      if (!ROLES.includes(role) || role === 'guest')
        throw new UsageError(`--role must be one of admin, editor, participant`)
      if (!name) throw new UsageError('--name is required')
    }
    return withPlatform(config, async ({ apiKeys }) => {
      if (sub === 'create') {
        const campaigns = values.campaign
        const key = await apiKeys.create({ name, role, expiresAt, campaigns })
        const expires = key.expires_at?.toISOString()
        if (values.json)
          console.log(
            JSON.stringify({
              id: key.id,
              name: key.name,
              role: key.role,
              key: key.key,
              ...(expires ? { expires_at: expires } : {}),
              ...(key.campaigns ? { campaigns: key.campaigns } : {}),
            }),
          )
        else
          console.log(
            `Created API key ${key.id} (${key.role}, "${key.name}"${expires ? `, expires ${expires}` : ''}` +
              `${key.campaigns ? `, campaigns ${key.campaigns.join(', ')} only` : ''}). ` +
              `It is shown only once:\n\n  ${key.key}\n`,
          )
        return 0
      }
      if (sub === 'list') {
        const keys = await apiKeys.list()
        if (values.json) console.log(JSON.stringify(keys))
        else
          for (const k of keys) {
            const expired = k.expires_at !== null && k.expires_at.getTime() <= Date.now()
            const state = k.revoked_at ? 'revoked' : expired ? 'expired' : 'active'
            // A fifth column only for a key with an expiry: scripts reading four columns keep working.
            const expires = k.expires_at ? `\texpires ${k.expires_at.toISOString()}` : ''
            // Likewise a last column only for a key limited to some campaigns.
            const scope = k.campaigns ? `\tcampaigns ${k.campaigns.join(',')}` : ''
            console.log(`${k.id}\t${k.role}\t${escapeControls(k.name)}\t${state}${expires}${scope}`)
          }
        return 0
      }
      if (sub === 'revoke' && id) {
        const done = await apiKeys.revoke(id)
        // An id typed or pasted wrong may hold control characters: printed escaped, as names are.
        console.log(done ? `Revoked ${id}.` : `No active key ${escapeControls(id)}.`)
        return done ? 0 : 1
      }
      throw new UsageError('apikey create|list|revoke')
    })
  },
  async user(config, args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { email: { type: 'string' }, role: { type: 'string' }, json: { type: 'boolean' } },
    })
    if (positionals.length === 1 && positionals[0] === 'password' && values.email) {
      return setPasswordCommand(config, values.email)
    }
    if (positionals.length !== 1 || positionals[0] !== 'role' || !values.email) {
      console.error(
        'Usage: ovasabi user role --email E --role participant|editor|admin [--json]\n' +
          '       ovasabi user password --email E   (the new password on standard input)',
      )
      return 2
    }
    if (!isPersonRole(values.role)) {
      console.error(`--role must be one of ${PERSON_ROLES.join(', ')}`)
      return 2
    }
    const role = values.role
    const email = values.email
    return withPlatform(config, async ({ database, bus }) => {
      // Running nodes hear of a lowered role at once (with Redis) and close the person's sockets.
      const revocations = createRevocations(database.db, { bus })
      const changed = await changeRole(database.db, { email }, role, { revocations })
      if (values.json) {
        const { tokens_valid_after, ...rest } = changed
        console.log(
          JSON.stringify({
            ...rest,
            ...(tokens_valid_after ? { tokens_valid_after: tokens_valid_after.toISOString() } : {}),
          }),
        )
      } else {
        const who = `${changed.id} ${escapeControls(changed.email ?? '')}`
        const was = changed.previous_role === role ? ' (unchanged)' : ` (was ${changed.previous_role})`
        const out = changed.tokens_valid_after ? '; signed out everywhere, signs in again' : ''
        console.log(`${who}: ${role}${was}${out}`)
      }
      return 0
    })
  },
  async campaign(config, args) {
    const { values } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } })
    return withPlatform(config, async ({ database }) => {
      const rows = await database.db
        .selectFrom('service_campaign_main')
        .select(['slug', 'title', 'archived_at'])
        .orderBy('id')
        .execute()
      if (values.json) console.log(JSON.stringify(rows))
      // A title stored blank (before blank titles were refused) would print as nothing: a
      // placeholder says so; one holding a tab, a line break or another control character is
      // printed escaped, so it cannot fake a column or a row. `--json` gives the stored value, as it is.
      else
        for (const r of rows) {
          const title = r.title.trim() === '' ? '(untitled)' : escapeControls(r.title)
          console.log(`${r.slug}\t${title}${r.archived_at ? '\t(archived)' : ''}`)
        }
      return 0
    })
  },
}

/**
 * `ovasabi user password --email E`: the new password is read from standard input (a pipe or a
 * file, its first line), never from the command line, where `ps` and the shell's history would
 * show it. For a person who cannot get a reset mail (no SMTP configured, a mailbox they lost).
 */
async function setPasswordCommand(config: Config, email: string): Promise<number> {
  if (process.stdin.isTTY) {
    console.error(
      'Give the new password on standard input, not typed here, where it would be shown: ' +
        'read -rs P && printf %s "$P" | ovasabi user password --email E',
    )
    return 2
  }
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const password = input.split(/\r?\n/)[0] ?? ''
  return withPlatform(config, async ({ database, bus }) => {
    const person = await findAccount(database.db, email)
    if (!person?.email || person.erased_at) throw new NotFoundError('No such person', 'USER_NOT_FOUND')
    // Running nodes hear of it at once (with Redis) and close the person's sockets.
    const revocations = createRevocations(database.db, { bus })
    const user = { id: person.id, email: person.email }
    if (!(await setPassword({ db: database.db, revocations }, user, password)))
      throw new NotFoundError('No such person', 'USER_NOT_FOUND')
    console.log(
      `${person.id} ${escapeControls(person.email)}: password set; signed out everywhere, signs in again`,
    )
    return 0
  })
}

class UsageError extends Error {}

const DURATION_UNITS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** `--expires-in 30d` (hours, days or weeks, up to ten years) as the instant it ends; none: never. */
function expiryFrom(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined
  const match = /^(\d{1,6})([hdw])$/.exec(text.trim())
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2]!]! : 0
  if (!(ms > 0 && ms <= 3650 * DURATION_UNITS.d!))
    throw new UsageError(
      `--expires-in must be a whole number of hours, days or weeks, e.g. 12h, 30d or 4w (got ${text})`,
    )
  return new Date(Date.now() + ms)
}

const ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\' }

/**
 * `text` for one cell of a tab-separated line a terminal shows: a backslash, tab, line break or
 * carriage return as `\\`, `\t`, `\n`, `\r`; any other control character (C0, DEL, C1, the
 * line/paragraph separators, bidi overrides and isolates) as `\u{…}`.
 */
function escapeControls(text: string): string {
  return text.replace(
    /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (ch) => ESCAPES[ch] ?? `\\u{${ch.codePointAt(0)!.toString(16).padStart(4, '0')}}`,
  )
}

/**
 * `serve` and `migrate` are configured by the environment only: a flag such as `--port 9000` is
 * refused rather than ignored (the server would otherwise listen where the flag did not say).
 */
function noArguments(command: string, args: string[]): void {
  if (args.length === 0) return
  throw new UsageError(
    `${command} takes no arguments (got ${args.join(' ')}); settings come from the environment, ` +
      'e.g. PORT=9000 ovasabi serve (see .env.example)',
  )
}

/**
 * Runs one command and returns its exit code (-1: keep running). Whatever it printed is handed to
 * the OS first, since the caller exits right away (see `flushOutput`).
 */
export async function main(argv: string[]): Promise<number> {
  ignoreClosedPipes()
  try {
    return await dispatch(argv)
  } finally {
    await flushOutput()
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(HELP)
    return name ? 0 : 1
  }
  const command = commands[name]
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${HELP}`)
    return 2
  }
  try {
    if (typeof process.loadEnvFile === 'function') {
      try {
        process.loadEnvFile()
      } catch {
        // no .env file: the environment alone configures the server
      }
    }
    return await command(loadConfig(), args)
  } catch (err) {
    // Errors an operator fixes (a setting, an address, a migration) are said, not dumped as a stack.
    if (
      err instanceof ConfigError ||
      err instanceof UsageError ||
      err instanceof ListenError ||
      err instanceof MigrationError
    )
      console.error(err.message)
    else if (err instanceof AppError) {
      console.error(`${err.code}: ${err.message}`)
      // A refusal's details, when they say what to change (a weak password's problems).
      if (Array.isArray(err.details))
        for (const d of err.details) if (typeof d?.message === 'string') console.error(`  - ${d.message}`)
    } else console.error(err)
    return 1
  }
}
