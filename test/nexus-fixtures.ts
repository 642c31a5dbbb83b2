// The dispatcher on its own, over stand-ins: no database, bus or campaign service behind it.
import assert from 'node:assert/strict'
import { Type } from 'typebox'
import type { Campaign } from '../src/modules/campaign/campaign.schema.js'
import type { CommitLog } from '../src/nexus/commit-log.js'
import { createDispatcher, type DispatchInput } from '../src/nexus/dispatcher.js'
import type { ActionDefinition, ActionRegistry } from '../src/nexus/registry.js'
import type { Principal } from '../src/platform/auth/principal.js'
import type { Db } from '../src/platform/db/database.js'
import type { Metrics } from '../src/platform/observability/metrics.js'
import type { RealtimePublisher } from '../src/realtime/publish.js'

/** Campaign `spring`, with the `analytics` feature on. */
export const spring = {
  id: 1,
  slug: 'spring',
  title: 'Spring',
  description: '',
  draft: false,
  metadata: { features: ['analytics'] },
  version: 1,
  created_by: 'system',
  created_at: new Date(),
  updated_at: new Date(),
  archived_at: null,
} as unknown as Campaign

/** A participant whose ids (like the email `eventInput` sends) must never reach a log. */
export const principal: Principal = {
  kind: 'user',
  user_id: 'user_secret_1',
  session_id: 'sess_secret_1',
  roles: ['participant'],
}

export interface Warning {
  fields: Record<string, unknown>
  message: string
}

/** `content.create`, a participant's `analytics` action writing through the commit log. */
export function contentCreate(handler: ActionDefinition['handler']): ActionDefinition {
  return {
    name: 'content.create',
    description: 'test action',
    payload: Type.Object({ email: Type.Optional(Type.String()) }),
    role: 'participant',
    feature: 'analytics',
    writes: 'deferred',
    handler,
  }
}

/**
 * A dispatcher for campaign `spring` over `registry`, whose commit log (a stand-in) records
 * everything, so deferred writes need no database. Its warnings are kept in `warnings`.
 */
export function standInDispatcher(deps: {
  registry: ActionRegistry
  publisher: RealtimePublisher
  metrics: Metrics
  db?: Db
}) {
  const warnings: Warning[] = []
  const commitLog: CommitLog = { commit: async () => ({ duplicate: false }), flush: async () => {} }
  const dispatcher = createDispatcher({
    db: deps.db ?? ({} as Db),
    registry: deps.registry,
    campaigns: { get: async () => spring },
    commitLog,
    publisher: deps.publisher,
    metrics: deps.metrics,
    config: { VERSION: 'test', ENVIRONMENT: 'test' },
    log: {
      warn: ((fields: Record<string, unknown>, message: string) =>
        void warnings.push({ fields, message })) as never,
    },
  })
  return { dispatcher, warnings }
}

let requests = 0

/** `principal` sends action `event` with `payload` to `spring`, each time under a new request id. */
export function eventInput(
  event: string,
  payload: Record<string, unknown> = { email: 'someone@example.com' },
  extra: Partial<DispatchInput> = {},
): DispatchInput {
  return {
    campaignSlug: 'spring',
    body: { type: 'campaign_event', event, payload, request_id: `req_${++requests}` },
    principal,
    ip: '127.0.0.1',
    ...extra,
  }
}

/** Ids only: nothing about the person (user, session, payload) is in `warning`. */
export function assertIdsOnly(warning: Warning | undefined): void {
  const logged = JSON.stringify(warning)
  for (const secret of ['user_secret_1', 'sess_secret_1', 'someone@example.com'])
    assert.ok(!logged.includes(secret), `${secret} logged`)
}
