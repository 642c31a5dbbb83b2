export { attachGateway } from './attach.js'
export { createEventHistory } from './history-factory.js'
export { createRealtimeMetrics } from './metrics.js'
export { manifest } from './manifest.js'
