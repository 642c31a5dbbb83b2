import type { Role } from '../platform/auth/principal.js'
import type { OutboundFrame } from './publish.js'

/** The connection a frame came from, as modules see it. */
export interface SocketInfo {
  connection_id: string
  campaign: string
  user_id: string
  session_id: string
  roles: Role[]
}

/** A handler's answer, if any, goes to the socket that sent the frame (and to no other). */
export type InboundHandler = (
  socket: SocketInfo,
  frame: Record<string, unknown>,
) => void | OutboundFrame | Promise<void> | Promise<OutboundFrame | undefined>
/** This node's connection ids in a group of a campaign (`key`: the group's name after `kind:`). */
export type GroupMembers = (campaign: string, key: string) => Iterable<string> | undefined
export type CloseHandler = (socket: SocketInfo) => void | Promise<void>

/**
 * Client → server frame types owned by modules (e.g. `stream_join`). The gateway handles its own
 * (`cursor`, `ping`, `auth`, `campaign_event`) and hands every other registered type to its
 * module; an `AppError` thrown by a handler goes back to that socket as an `error` frame.
 */
export class InboundRegistry {
  private readonly handlers = new Map<string, InboundHandler>()
  private readonly closeHandlers: CloseHandler[] = []
  private readonly groups = new Map<string, GroupMembers>()

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

  /**
   * The module that keeps groups of `kind` (`group` audiences named `kind:…`): each node asks it
   * for its own members when such a frame comes.
   */
  registerGroup(kind: string, members: GroupMembers): void {
    if (this.groups.has(kind)) throw new Error(`Socket group ${kind} is registered twice`)
    this.groups.set(kind, members)
  }

  /** This node's connection ids in `group` (`kind:key`) of `campaign`; none for an unknown kind. */
  members(campaign: string, group: string): Iterable<string> {
    const colon = group.indexOf(':')
    if (colon < 0) return []
    return this.groups.get(group.slice(0, colon))?.(campaign, group.slice(colon + 1)) ?? []
  }

  /** Called for every socket that closes, on the node that held it. */
  onClose(handler: CloseHandler): void {
    this.closeHandlers.push(handler)
  }

  async closed(socket: SocketInfo): Promise<void> {
    for (const h of this.closeHandlers) await h(socket)
  }
}
