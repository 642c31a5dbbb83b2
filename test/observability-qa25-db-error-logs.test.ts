import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import { registerErrorHandler } from '../src/platform/http/error-handler.js'
import { DIALECTS, withDatabase } from './helper.js'
import { appWithLogCapture } from './log-capture.js'

const EMAIL = 'ada.lovelace@example.org'
const HASH = 'scrypt$N=16384$c2VjcmV0LWhhc2gtdmFsdWU'

/**
 * A database error that reaches the log (an unhandled 500, a failed side effect) carries the
 * values of the statement that failed: PostgreSQL's `detail` names the row, a data exception quotes
 * the input, and PGlite adds every parameter of the query. None of them may reach the log.
 */
for (const dialect of DIALECTS) {
  describe(`database errors in the log (${dialect})`, () => {
    it('keep the SQLSTATE, table and constraint, never the values', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await sql`create table qa25_people (email text unique, password_hash text not null)`.execute(db)
        const { app, lines } = appWithLogCapture()
        registerErrorHandler(app)
        const insert = (email: string, hash: string | null) =>
          sql`insert into qa25_people (email, password_hash) values (${email}, ${hash})`.execute(db)
        app.post('/duplicate', async () => {
          await insert(EMAIL, HASH)
        })
        app.post('/not-null', async () => {
          await insert(`other.${EMAIL}`, null)
        })
        app.get('/data-exception', async () => {
          await sql`select ${EMAIL}::uuid`.execute(db)
        })
        app.get('/wrapped', async () => {
          try {
            await sql`select ${EMAIL}::integer`.execute(db)
          } catch (err) {
            throw new Error('reading the lead failed', { cause: err })
          }
        })
        try {
          await insert(EMAIL, HASH)
          for (const [method, url] of [
            ['POST', '/duplicate'],
            ['POST', '/not-null'],
            ['GET', '/data-exception'],
            ['GET', '/wrapped'],
          ] as const) {
            const res = await app.inject({ method, url })
            assert.equal(res.statusCode, 500, res.body)
          }
        } finally {
          await app.close()
        }
        const errors = lines.filter((l) => l.level === 50)
        assert.equal(errors.length, 4, JSON.stringify(lines))
        const [duplicate, notNull, dataException, wrapped] = errors.map((l) => l.err)
        const log = JSON.stringify(lines)
        for (const secret of [EMAIL, HASH, 'ada.lovelace'])
          assert.ok(!log.includes(secret), `${secret} in the log: ${log}`)
        // What the operator needs to find the fault is still there.
        assert.equal(duplicate.code, '23505')
        assert.equal(duplicate.table, 'qa25_people')
        assert.equal(duplicate.constraint, 'qa25_people_email_key')
        assert.equal(duplicate.detail, 'Key (email)=([redacted]) already exists.')
        assert.match(
          duplicate.message,
          /duplicate key value violates unique constraint "qa25_people_email_key"/,
        )
        assert.equal(notNull.code, '23502')
        assert.equal(notNull.column, 'password_hash')
        assert.equal(notNull.detail, '[redacted]')
        assert.equal(dataException.code, '22P02')
        assert.equal(dataException.message, 'invalid input syntax for type uuid: "[redacted]"')
        assert.match(dataException.stack, /invalid input syntax for type uuid: "\[redacted\]"/)
        assert.match(
          wrapped.message,
          /^reading the lead failed: invalid input syntax for type integer: "\[redacted\]"$/,
        )
      })
    })
  })
}
