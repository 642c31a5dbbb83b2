export {
  type ActionOptions,
  type CampaignMergePatch,
  type ClientOptions,
  createClient,
  type OvasabiClient,
} from './client.js'
export type * from './contracts.js'
export { isOvasabiError, OvasabiError, type FieldIssue } from './errors.js'
export type * from './frames.js'
export type { ConditionalOptions, FetchLike } from './http.js'
export { backoffDelay, isRestartClose, restartDelay } from './backoff.js'
export { connectRealtime, RealtimeConnection } from './realtime.js'
export type {
  BackoffOptions,
  ConnectionState,
  DispatchOptions,
  RealtimeOptions,
  StateChange,
  WebSocketCtor,
  WebSocketLike,
} from './realtime-options.js'
export type { StreamRestOptions } from './stream-rest.js'
export type { PutOptions } from './upload.js'
export type * from './types.js'
export { ulid } from './ulid.js'
