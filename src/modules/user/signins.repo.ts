import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { keptUserAgent } from '../../platform/http/user-agent.js'

/**
 * A user token was issued to `userId` for `sessionId`: the session is where they are signed in,
 * from this browser and network now, authenticated at `signedInAt` (the tokens' `auth_time`). One
 * row per person and session, the latest issue's. Written only while the person is not erased,
 * read under a share lock: an erasure (see `lockForErasure`) either waits for this row and removes
 * it, or has committed and nothing is written, so no browser or network outlives the person.
 */
export async function recordSignIn(
  db: Db,
  signin: {
    userId: string
    sessionId: string
    userAgent?: string
    network?: string
    signedInAt: Date
    /** When the token was issued. */
    issuedAt: Date
    /** The cut-off it was issued under. */
    cutOff: Date | null
  },
): Promise<void> {
  await db
    .insertInto('service_user_signin')
    .columns(['user_id', 'session_id', 'user_agent', 'network', 'signed_in_at', 'last_active_at', 'cut_off'])
    .expression((eb) =>
      eb
        .selectFrom('service_user_master')
        .select([
          'id',
          sql<string>`${signin.sessionId}::text`.as('session_id'),
          sql<string | null>`${keptUserAgent(signin.userAgent) ?? null}::text`.as('user_agent'),
          sql<string | null>`${signin.network || null}::text`.as('network'),
          sql<Date>`${signin.signedInAt}::timestamptz`.as('signed_in_at'),
          sql<Date>`${signin.issuedAt}::timestamptz`.as('last_active_at'),
          sql<Date | null>`${signin.cutOff}::timestamptz`.as('cut_off'),
        ])
        .where('id', '=', signin.userId)
        .where('erased_at', 'is', null)
        .forShare(),
    )
    .onConflict((oc) =>
      oc.columns(['user_id', 'session_id']).doUpdateSet((eb) => ({
        user_agent: eb.ref('excluded.user_agent'),
        network: eb.ref('excluded.network'),
        signed_in_at: eb.ref('excluded.signed_in_at'),
        last_active_at: eb.ref('excluded.last_active_at'),
        cut_off: eb.ref('excluded.cut_off'),
      })),
    )
    .execute()
}

/**
 * The sessions a person is signed in at: a token of each may still work. Not one revoked (a
 * logout, an ended session), not one whose last token was issued under an earlier cut-off than
 * theirs now (log out everywhere, a password set), expired (`ttlSeconds` since its last token) or past the maximum age
 * (`maxAgeSeconds` since it was authenticated). Most recently active first.
 */
export async function activeSignIns(
  db: Db,
  userId: string,
  limits: { ttlSeconds: number; maxAgeSeconds: number },
) {
  return db
    .selectFrom('service_user_signin as s')
    .innerJoin('service_user_master as u', 'u.id', 's.user_id')
    .select(['s.session_id', 's.user_agent', 's.network', 's.signed_in_at', 's.last_active_at'])
    .where('s.user_id', '=', userId)
    .where('u.erased_at', 'is', null)
    .where(({ or, and, eb }) =>
      // The cut-off its last token was issued under is the person's latest: as tokens are judged.
      or([
        eb('u.tokens_valid_after', 'is', null),
        and([eb('s.cut_off', 'is not', null), eb('s.cut_off', '>=', eb.ref('u.tokens_valid_after'))]),
      ]),
    )
    .where(
      's.last_active_at',
      '>',
      sql<Date>`now() - make_interval(secs => ${limits.ttlSeconds}::double precision)`,
    )
    .where(
      's.signed_in_at',
      '>',
      sql<Date>`now() - make_interval(secs => ${limits.maxAgeSeconds}::double precision)`,
    )
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('service_user_revoked_session as r')
            .select('r.session_id')
            .whereRef('r.session_id', '=', 's.session_id'),
        ),
      ),
    )
    .orderBy('s.last_active_at', 'desc')
    .limit(200)
    .execute()
}

/** Whether `sessionId` is one `userId` signed in at (a row of theirs, whatever its state). */
export async function isSignInOf(db: Db, userId: string, sessionId: string): Promise<boolean> {
  const row = await db
    .selectFrom('service_user_signin')
    .select('session_id')
    .where('user_id', '=', userId)
    .where('session_id', '=', sessionId)
    .executeTakeFirst()
  return row !== undefined
}

/** Rows no token can still be valid for: last given one more than `seconds` ago. */
export async function purgeSignIns(db: Db, seconds: number): Promise<number> {
  const res = await db
    .deleteFrom('service_user_signin')
    .where('last_active_at', '<', sql<Date>`now() - make_interval(secs => ${seconds}::double precision)`)
    .executeTakeFirst()
  return Number(res.numDeletedRows)
}

/** Erasure: where they were signed in goes with them. */
export async function forgetSignIns(trx: Db, userId: string): Promise<void> {
  await trx.deleteFrom('service_user_signin').where('user_id', '=', userId).execute()
}
