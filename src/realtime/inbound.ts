import type { Role } from '../platform/auth/principal.js'

/** The connection a frame came from, as modules see it. */
export interface SocketInfo {
  connection_id: string
  campaign: string
  user_id: string
  session_id: string
  roles: Role[]
}

export type InboundHandler = (socket: SocketInfo, frame: Record<string, unknown>) => void | Promise<void>
export type CloseHandler = (socket: SocketInfo) => void | Promise<void>

/**
 * Client → server frame types owned by modules (e.g. `stream_join`). The gateway handles its own
 * (`cursor`, `ping`, `auth`, `campaign_event`) and hands every other registered type to its
 * module; an `AppError` thrown by a handler goes back to that socket as an `error` frame.
 */
export class InboundRegistry {
  private readonly handlers = new Map<string, InboundHandler>()
  private readonly closeHandlers: CloseHandler[] = []

  register(type: string, handler: InboundHandler): void {
    if (this.handlers.has(type)) throw new Error(`Inbound frame type ${type} is registered twice`)
    this.handlers.set(type, handler)
  }

  get(type: string): InboundHandler | undefined {
    return this.handlers.get(type)
  }

  types(): string[] {
    return [...this.handlers.keys()]
  }

  /** Called for every socket that closes, on the node that held it. */
  onClose(handler: CloseHandler): void {
    this.closeHandlers.push(handler)
  }

  async closed(socket: SocketInfo): Promise<void> {
    for (const h of this.closeHandlers) await h(socket)
  }
}
