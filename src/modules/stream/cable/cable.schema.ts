import { Type } from 'typebox'
import { StreamJson } from '../stream.schema.js'

/**
 * What `/cable` subscribers receive, as TypeBox schemas for the service graph and the AsyncAPI
 * document. A subscriber gets `{identifier, message}`; `identifier` is its own subscribe string,
 * echoed byte for byte.
 */
const Identifier = Type.String({ description: 'The subscription identifier, echoed verbatim' })

/**
 * What a subscription is told when the server refuses it or one of its commands (to that socket
 * only): a refused cell lock or edit, or an unknown action, has a message alone; the refusals of
 * the connection (connection.ts) name their code, and a dropped command when to send it again.
 */
export const CableErrorMessage = Type.Object({
  action: Type.Literal('error'),
  code: Type.Optional(
    Type.Union(
      [
        Type.Literal('RATE_LIMITED'),
        Type.Literal('TOO_MANY_SUBSCRIPTIONS'),
        Type.Literal('FORBIDDEN'),
        Type.Literal('SERVICE_UNAVAILABLE'),
      ],
      {
        description:
          'RATE_LIMITED: the command was dropped; TOO_MANY_SUBSCRIPTIONS and FORBIDDEN (the role changed): the subscription is rejected next; SERVICE_UNAVAILABLE: the credential could not be checked, send the command again',
      },
    ),
  ),
  message: Type.String(),
  retry_after_ms: Type.Optional(
    Type.Integer({ minimum: 0, description: 'RATE_LIMITED only: when the command may be sent again' }),
  ),
})

/**
 * `StreamsChannel`: one message per create / update / archive; a delete sends `archived` (what the
 * contract's walls take a stream off on) then `deleted` (`broadcast` in stream.service.ts).
 */
export const StreamsChannelMessage = Type.Object({
  identifier: Identifier,
  message: Type.Union([
    Type.Object({
      action: Type.Union([
        Type.Literal('created'),
        Type.Literal('updated'),
        Type.Literal('archived'),
        Type.Literal('deleted'),
      ]),
      stream: StreamJson,
    }),
    CableErrorMessage,
  ]),
})

const CellId = Type.String({
  pattern: '^stream_[1-9][0-9]*_[a-z_]+$',
  maxLength: 200,
  description: 'One field of one stream, `stream_<id>_<field>` (as StreamSource’s spreadsheet names it)',
})
const Who = Type.String({
  description: 'The collaborator: an account id, or `apikey:<hash>` (one per account; tabs share it)',
})

/** `CollaborativeStreamsChannel` (see `collaborativeChannel` in channels.ts). */
export const CollaborationMessage = Type.Union([
  Type.Object({
    action: Type.Literal('active_users_list'),
    users: Type.Array(Type.Object({ user_id: Who, user_email: Type.Union([Type.String(), Type.Null()]) })),
  }),
  Type.Object({
    action: Type.Literal('cell_locked'),
    cell_id: CellId,
    user_id: Who,
    user_email: Type.Union([Type.String(), Type.Null()]),
    expires_at: Type.String({ format: 'date-time' }),
  }),
  Type.Object({ action: Type.Literal('cell_unlocked'), cell_id: CellId, user_id: Who }),
  Type.Object({
    action: Type.Literal('cell_updated'),
    cell_id: CellId,
    stream_id: Type.Integer(),
    field: Type.String(),
    value: Type.Unknown({ description: 'The value as stored (trimmed, aliases resolved), as in `stream`' }),
    user_id: Who,
    stream: StreamJson,
  }),
  CableErrorMessage,
])

export const CollaborativeStreamsChannelMessage = Type.Object({
  identifier: Identifier,
  message: CollaborationMessage,
})

/** Bus channel `ovasabi:cable`: a broadcast every node delivers to its own `/cable` subscribers. */
export const CableBusMessage = Type.Object({
  broadcasting: Type.Union([Type.Literal('streams'), Type.Literal('collaboration')]),
  message: Type.Record(Type.String(), Type.Unknown()),
  connection_id: Type.Optional(Type.String({ description: 'Only this connection' })),
})

/** Bus channel `TOKENS_CUT_OFF_CHANNEL`: an account's tokens were cut off (account.service.ts). */
export const TokensCutOffMessage = Type.Object({ account_id: Type.Integer() })
