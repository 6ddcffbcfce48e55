// What the main thread and the engine's thread (engine-worker.ts) say to each other. Protocol
// bytes travel as transferred ArrayBuffers (moved, not copied); everything else is small.
import type { SyncCall } from './durable-fs.ts'
import type { EmbeddedEngineFailure } from './engine-health.ts'

export interface EngineWorkerData {
  dataDir: string
  pgdataDir: string
  fsync: boolean
  /** Post every sync made (tests count them); off otherwise, to spare a message per commit. */
  reportSyncs: boolean
  /** PGlite's WebAssembly.Module, compiled once per process (a new thread then opens the engine in half the time). */
  wasmModule: unknown
  /** PGlite's file system bundle (pglite.data), read once per process. */
  fsBundle: Uint8Array
}

/** An error of PGlite's query API: PostgreSQL's fields, for the ErrorResponse the client expects. */
export interface QueryError {
  code?: string
  detail?: string
  hint?: string
  position?: string
  message: string
}

export type EngineRequest =
  | { kind: 'exec'; id: number; message: ArrayBuffer }
  | { kind: 'query'; id: number; sql: string; params: unknown[]; blob: ArrayBuffer | undefined }
  | { kind: 'heap'; id: number }
  | { kind: 'close'; id: number }

export type EngineEvent =
  | { kind: 'ready' }
  | { kind: 'start-failed'; message: string; reason: EmbeddedEngineFailure['reason'] }
  | { kind: 'failed'; message: string; reason: EmbeddedEngineFailure['reason'] }
  | { kind: 'sync'; call: SyncCall }
  | {
      kind: 'result'
      id: number
      message?: ArrayBuffer
      rows?: unknown[]
      affectedRows?: number
      blob?: ArrayBuffer
      error?: QueryError
      heapBytes?: number
    }
