import { Type } from 'typebox'
import type { ActionRegistry } from '../../nexus/registry.js'
import { PERSONAL_FIELDS, SUBMIT_EVENTS } from './quote.schema.js'
import type { QuoteService } from './quote.service.js'

export function registerActions(registry: ActionRegistry, quotes: Pick<QuoteService, 'submit'>): void {
  registry.register({
    name: SUBMIT_EVENTS[0],
    aliases: SUBMIT_EVENTS.slice(1),
    description:
      'Submit a lead: name, email, company, phone, message, budget, interest, locale, consent, metadata. ' +
      'Validated field by field by the quote service (errors name each field).',
    // The service validates, so both routes answer with the same per-field errors.
    payload: Type.Record(Type.String(), Type.Unknown()),
    role: 'guest',
    feature: 'quote',
    sensitive: PERSONAL_FIELDS,
    // The lead, its outbox rows, the analytics event and the acknowledgement share one commit.
    writes: 'deferred',
    handler: (ctx, payload) => quotes.submit(ctx, payload),
  })
}
