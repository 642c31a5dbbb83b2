import type { TSchema } from 'typebox'
import type { HealthCheck } from './observability/health.js'

/** An HTTP endpoint a module serves, as the service graph shows it. */
export interface EndpointDeclaration {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  /** Minimum role, or "public". */
  auth: 'public' | 'session' | 'participant' | 'editor' | 'admin' | 'streamsource'
  summary?: string
}

/** A real-time event a module sends or receives. */
export interface EventDeclaration {
  /** Frame `type` (e.g. `campaign_event`) or, for campaign events, the event name (e.g. `lead.created`). */
  name: string
  channel: 'ws' | 'cable' | 'bus' | 'webhook'
  direction: 'emits' | 'consumes'
  description?: string
  /**
   * The frame's (or, for a dotted campaign event on `ws`, its payload's) TypeBox schema. Amadeus
   * refuses an emitted event without a schema, here or in `app.eventSchemas`.
   */
  schema?: TSchema
}

/**
 * What a module is, declared once and read by Amadeus to build the service graph, so the graph
 * is built from the code that runs and can never drift from it.
 */
export interface ModuleManifest {
  name: string
  version: string
  description: string
  capabilities: string[]
  /** Other modules (by name) and external dependencies (`database`, `redis`, `translation`, `storage`, `webhooks`). */
  dependencies: string[]
  endpoints: EndpointDeclaration[]
  /** Canonical Nexus action names this module handles. */
  actions: string[]
  events: EventDeclaration[]
  tables: string[]
  /** Campaign features this module's actions are enabled by. */
  features: string[]
  health?: HealthCheck
}

/** Collects manifests in registration order; Amadeus reads them, `/api/amadeus/graph` serves them. */
export class ModuleRegistry {
  private readonly manifests = new Map<string, ModuleManifest>()

  add(manifest: ModuleManifest): void {
    if (this.manifests.has(manifest.name)) throw new Error(`Module ${manifest.name} is registered twice`)
    this.manifests.set(manifest.name, manifest)
  }

  list(): ModuleManifest[] {
    return [...this.manifests.values()]
  }

  get(name: string): ModuleManifest | undefined {
    return this.manifests.get(name)
  }
}
