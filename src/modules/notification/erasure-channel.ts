import type { EventBus } from '../../platform/bus/bus.js'
import type { DeliveryWorker } from './delivery-worker.js'

/**
 * Erasure on one node must reach the messages every node holds in memory, unsent: a lead's
 * webhooks wait in the queue of the node that committed it (`DeliveryWorker.handoff`), and the
 * person may be erased through any node. The erasing node cancels the rows in the database and
 * names the subjects here; every node's worker drops what it still queues about them.
 */
export const ERASED_SUBJECTS_CHANNEL = 'webhooks:erased-subjects'

export function announceErasure(bus: Pick<EventBus, 'publish'>, subjectIds: string[]): Promise<void> {
  return bus.publish(ERASED_SUBJECTS_CHANNEL, { subjects: subjectIds })
}

/** Subscribes `worker` to erasures announced by any node; resolves to the unsubscribe function. */
export function forgetErasedSubjects(
  bus: Pick<EventBus, 'subscribe'>,
  worker: Pick<DeliveryWorker, 'forget'>,
): Promise<() => Promise<void>> {
  return bus.subscribe(ERASED_SUBJECTS_CHANNEL, (message) => {
    const subjects = (message as { subjects?: unknown } | null)?.subjects
    if (Array.isArray(subjects)) worker.forget(subjects.filter((s): s is string => typeof s === 'string'))
  })
}
