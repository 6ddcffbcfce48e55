// PGlite is one PostgreSQL session. Many clients (the service's pool, psql, Grafana) share
// it, so this scheduler decides whose work runs next:
//
// - Work is a client's exchange: its messages up to a Sync or simple Query, which PostgreSQL
//   answers with ReadyForQuery. Exchanges run one at a time, first come first served, so a
//   client querying in a loop and the service's uploads both make progress.
// - A client whose exchange leaves a transaction open (ReadyForQuery 'T' or 'E', or no
//   ReadyForQuery yet) owns the session until it ends that transaction: other clients'
//   statements would otherwise run inside it. Only the owner's exchanges run meanwhile.
// - An owner that goes quiet for `idleInTransactionTimeoutMs` is reported (like PostgreSQL's
//   idle_in_transaction_session_timeout) so the server can end it and roll back, and a
//   forgotten `BEGIN` in psql cannot stall ingestion for longer than that.
//
// The scheduler runs tasks, not bytes: a task does one exchange on the backend (switching
// session state in, running the messages, COPY) and resolves with the backend's answer.
import { lastReadyStatus } from './wire-protocol.ts'

/** One exchange on the backend; resolves with the protocol answer (ending in ReadyForQuery, or not yet). */
export type Task = () => Promise<Uint8Array>

interface Work {
  sessionId: number
  task: Task
  resolve(response: Uint8Array): void
  reject(error: unknown): void
}

export interface SchedulerOptions {
  idleInTransactionTimeoutMs: number
  /** Called when the owner of an open transaction stayed idle too long. */
  onIdleInTransaction(sessionId: number): void
}

/** The session's queued exchange was cancelled (CancelRequest) before it ran. */
export class ExchangeCancelled extends Error {
  override name = 'ExchangeCancelled'
}

export class SessionScheduler {
  private readonly queue: Work[] = []
  /** The session whose transaction is open, if any. */
  private owner: number | undefined
  /** The loop that runs queued exchanges, while there are any. */
  private draining: Promise<void> | undefined
  /** After stop(): nothing more runs. */
  private stopped = false
  /** The session whose exchange runs on the backend now. */
  private current: number | undefined
  private idleTimer: NodeJS.Timeout | undefined

  constructor(private readonly options: SchedulerOptions) {}

  /** Runs one exchange of a session when its turn comes. */
  submit(sessionId: number, task: Task): Promise<Uint8Array> {
    if (this.stopped) return Promise.reject(new Error('database is shutting down'))
    return new Promise((resolve, reject) => {
      this.queue.push({ sessionId, task, resolve, reject })
      this.pump()
    })
  }

  /** The session whose transaction holds the backend, if any. */
  get transactionOwner(): number | undefined {
    return this.owner
  }

  /** The session whose exchange runs on the backend now, if any (a CancelRequest for it stops it). */
  get runningSession(): number | undefined {
    return this.current
  }

  /** Drops the session's exchanges that have not started; true when there was one. */
  cancel(sessionId: number): boolean {
    let cancelled = false
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.sessionId !== sessionId) continue
      this.queue.splice(i, 1)[0]!.reject(new ExchangeCancelled('canceling statement due to user request'))
      cancelled = true
    }
    return cancelled
  }

  /**
   * A session is gone: its queued work is dropped and, if it owned the transaction, `rollback`
   * runs before anyone else does.
   */
  async release(sessionId: number, rollback: Task): Promise<void> {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.sessionId === sessionId) this.queue.splice(i, 1)[0]!.reject(new Error('session closed'))
    }
    // Stopped: the engine closes next, and a transaction left open ends with it.
    if (this.owner !== sessionId || this.stopped) return
    await new Promise<void>((resolve) => {
      // At the front: the owner's turn is next anyway, and nobody else may run before it.
      this.queue.unshift({ sessionId, task: rollback, resolve: () => resolve(), reject: () => resolve() })
      this.pump()
    })
    // Whatever the rollback answered, the departed session owns nothing any more.
    if (this.owner === sessionId) this.owner = undefined
    this.pump()
  }

  get waiting(): number {
    return this.queue.length
  }

  /**
   * Refuses new work, drops what waits, and resolves once the exchange running now has ended:
   * the engine may be closed then, and no exchange meets it closing (which traps PGlite).
   */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.idleTimer)
    for (const work of this.queue.splice(0)) work.reject(new Error('database is shutting down'))
    await this.draining
  }

  private pump(): void {
    this.draining ??= this.drain()
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        // Before the next exchange, let the event loop read sockets: a CancelRequest for
        // queued work, a new login, an exchange of the transaction's owner.
        await new Promise<void>((resolve) => setImmediate(resolve))
        const work = this.next()
        if (!work) break
        clearTimeout(this.idleTimer)
        this.current = work.sessionId
        try {
          const response = await work.task()
          const status = lastReadyStatus(response)
          // No ReadyForQuery (Flush): the exchange is not over, the session keeps its turn.
          this.owner = status === 'I' ? undefined : work.sessionId
          work.resolve(response)
        } catch (error) {
          work.reject(error)
        } finally {
          this.current = undefined
        }
      }
      if (this.owner !== undefined && !this.stopped) this.armIdleTimer(this.owner)
    } finally {
      // Set at once when the queue is found empty: a submit after it starts a new loop.
      this.draining = undefined
    }
  }

  private next(): Work | undefined {
    const index = this.owner === undefined ? 0 : this.queue.findIndex((work) => work.sessionId === this.owner)
    return index === -1 ? undefined : this.queue.splice(index, 1)[0]
  }

  private armIdleTimer(owner: number): void {
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      // Judged after this turn's socket reads (setImmediate runs after I/O), not at once: a
      // timer runs before them, so when the process itself was held up past the timeout (a
      // long GC, the machine's other load) the owner's next statement, sent in time, would
      // still sit unread in its socket and a session that is not idle would be ended.
      setImmediate(() => {
        if (this.owner === owner && !this.draining) this.options.onIdleInTransaction(owner)
      })
    }, this.options.idleInTransactionTimeoutMs)
    this.idleTimer.unref()
  }
}
