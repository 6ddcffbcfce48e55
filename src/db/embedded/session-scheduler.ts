// PGlite is one PostgreSQL session. Many clients (the service's pool, psql, Grafana) share
// it, so this scheduler decides whose work runs next:
//
// - Work is a client's "unit": its messages up to a Sync or simple Query, which PostgreSQL
//   answers with ReadyForQuery. Units run one at a time, first come first served, so a
//   client querying in a loop and the service's uploads both make progress.
// - A client whose unit leaves a transaction open (ReadyForQuery 'T' or 'E') owns the
//   session until it ends that transaction: other clients' statements would otherwise run
//   inside it. Only the owner's units run meanwhile.
// - An owner that goes quiet for `idleInTransactionTimeoutMs` is cut off (like PostgreSQL's
//   idle_in_transaction_session_timeout) and its transaction rolled back, so a forgotten
//   `BEGIN` in psql cannot stall ingestion for longer than that.
import { lastReadyStatus, simpleQuery } from './wire-protocol.ts'

type Execute = (bytes: Uint8Array) => Promise<Uint8Array>

interface Work {
  sessionId: number
  bytes: Uint8Array
  resolve(response: Buffer): void
  reject(error: unknown): void
}

export interface SchedulerOptions {
  idleInTransactionTimeoutMs: number
  /** Called when the owner of an open transaction stayed idle too long. */
  onIdleInTransaction(sessionId: number): void
}

export class SessionScheduler {
  private readonly queue: Work[] = []
  /** The session whose transaction is open, if any. */
  private owner: number | undefined
  private running = false
  private idleTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly execute: Execute,
    private readonly options: SchedulerOptions,
  ) {}

  /** Runs one unit of a session's work when its turn comes; resolves with the raw response. */
  submit(sessionId: number, bytes: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ sessionId, bytes, resolve, reject })
      void this.pump()
    })
  }

  /**
   * A session is gone: its queued work is dropped and, if it owned the transaction, the
   * transaction is rolled back before anyone else runs.
   */
  async release(sessionId: number): Promise<void> {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.sessionId === sessionId) this.queue.splice(i, 1)[0]!.reject(new Error('session closed'))
    }
    if (this.owner !== sessionId) return
    await new Promise<void>((resolve) => {
      // At the front: the owner's turn is next anyway, and nobody else may run before it.
      this.queue.unshift({ sessionId, bytes: simpleQuery('ROLLBACK'), resolve: () => resolve(), reject: () => resolve() })
      void this.pump()
    })
  }

  get waiting(): number {
    return this.queue.length
  }

  stop(): void {
    clearTimeout(this.idleTimer)
    for (const work of this.queue.splice(0)) work.reject(new Error('database is shutting down'))
  }

  private async pump(): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      for (let work = this.next(); work; work = this.next()) {
        clearTimeout(this.idleTimer)
        try {
          // Copied at once: PGlite may hand back a view of its own buffer, which the next
          // unit (started before this one's reader gets to run) would overwrite.
          const response = Buffer.from(await this.execute(work.bytes))
          // No ReadyForQuery (Flush, COPY in progress): the exchange is not over, keep the turn.
          const status = lastReadyStatus(response)
          this.owner = status === 'I' ? undefined : work.sessionId
          work.resolve(response)
        } catch (error) {
          work.reject(error)
        }
      }
      if (this.owner !== undefined) this.armIdleTimer(this.owner)
    } finally {
      this.running = false
    }
  }

  private next(): Work | undefined {
    const index = this.owner === undefined ? 0 : this.queue.findIndex((work) => work.sessionId === this.owner)
    return index === -1 ? undefined : this.queue.splice(index, 1)[0]
  }

  private armIdleTimer(owner: number): void {
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      if (this.owner === owner && !this.running) this.options.onIdleInTransaction(owner)
    }, this.options.idleInTransactionTimeoutMs)
    this.idleTimer.unref()
  }
}
