import type { EventBus } from '../../platform/bus/bus.js'
import type { DeliveryWorker } from './delivery-worker.js'

/**
 * What one node must tell every node's delivery worker. A lead's webhooks wait in the memory queue
 * of the node that committed it (`DeliveryWorker.handoff`), with the endpoint as it was then; a
 * person can be erased, and an endpoint moved, re-keyed or deleted, through any node.
 * - erasure: the erasing node cancels the rows in the database and names the subjects; every
 *   worker drops what it still queues about them (`forget`);
 * - endpoint change: every worker gives back what it queues for the endpoint (`requeue`), so the
 *   sweep sends it with the endpoint read afresh (or cancels it, the endpoint being gone);
 * - endpoint gone: a worker's send was answered 410 Gone and it disabled the endpoint; every
 *   worker cancels what it queues for it (`cancelQueued`), as that worker did its own.
 */
export const WORKER_CHANNEL = 'webhooks:worker'

/** Why an endpoint was disabled, and its messages cancelled, after a 410. */
export const GONE = 'receiver answered 410 Gone'

type Notice = { subjects: string[] } | { endpoints: string[] } | { gone: string[] }

export function announceErasure(bus: Pick<EventBus, 'publish'>, subjectIds: string[]): Promise<void> {
  return bus.publish(WORKER_CHANNEL, { subjects: subjectIds } satisfies Notice)
}

export function announceEndpointChange(bus: Pick<EventBus, 'publish'>, webhookIds: string[]): Promise<void> {
  return bus.publish(WORKER_CHANNEL, { endpoints: webhookIds } satisfies Notice)
}

export function announceEndpointGone(bus: Pick<EventBus, 'publish'>, webhookIds: string[]): Promise<void> {
  return bus.publish(WORKER_CHANNEL, { gone: webhookIds } satisfies Notice)
}

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined

/** Subscribes `worker` to what any node announces; resolves to the unsubscribe function. */
export function followWorkerNotices(
  bus: Pick<EventBus, 'subscribe'>,
  worker: Pick<DeliveryWorker, 'forget' | 'requeue'> & Partial<Pick<DeliveryWorker, 'cancelQueued'>>,
): Promise<() => Promise<void>> {
  return bus.subscribe(WORKER_CHANNEL, (message) => {
    const notice = (message ?? {}) as Record<string, unknown>
    const subjects = strings(notice.subjects)
    if (subjects) worker.forget(subjects)
    const endpoints = strings(notice.endpoints)
    if (endpoints) worker.requeue(endpoints)
    const gone = strings(notice.gone)
    if (gone) worker.cancelQueued?.(gone, GONE)
  })
}
