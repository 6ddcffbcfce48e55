// COPY FROM STDIN of rows already in memory (the writer's binary COPY payloads), sent with its
// statement in one write: the Query, every CopyData and the CopyDone, through node-postgres'
// own message serializer, as a query object of node-postgres' Submittable interface (the one
// pg-copy-streams plugs into).
//
// Why not pg-copy-streams, made for COPY: it streams, so it sends the data only once the
// server's CopyInResponse is back, and then every CopyData as two socket writes and the
// CopyDone as another. A group commit's three COPYs made 12 writes and as many wake-ups of
// the database's backend; sent ahead, they are 3. PostgreSQL reads a COPY's data from its
// input in order, so data sent ahead is simply there when the COPY starts; a COPY that fails
// before (no such table, no privilege) answers with an error, and the protocol has the server
// drop every CopyData and CopyDone that follows. The embedded server (wire-server.ts) plays
// COPY FROM STDIN the same way.
import type pg from 'pg'

/** What of node-postgres' connection a COPY uses (pg's Connection; not in its type definitions). */
interface Connection {
  stream: { cork(): void; uncork(): void }
  query(text: string): void
  sendCopyFromChunk(chunk: Buffer): void
  endCopyFrom(): void
}

const COMMAND_COUNT = /^COPY (\d+)$/

class CopyFromMemory {
  readonly copied: Promise<number>
  private rowCount = 0
  private settle!: (error: Error | undefined) => void

  constructor(
    private readonly sql: string,
    private readonly messages: readonly Buffer[],
  ) {
    this.copied = new Promise<number>((resolve, reject) => {
      this.settle = (error) => (error ? reject(error) : resolve(this.rowCount))
    })
  }

  // Called by node-postgres when this is the connection's turn.
  submit(connection: Connection): void {
    connection.stream.cork()
    connection.query(this.sql)
    for (const message of this.messages) connection.sendCopyFromChunk(message)
    connection.endCopyFrom()
    connection.stream.uncork()
  }

  handleCopyInResponse(): void {
    // The data went with the statement.
  }

  handleCommandComplete(message: { text?: string }): void {
    const count = COMMAND_COUNT.exec(message.text ?? '')
    if (count) this.rowCount = Number(count[1])
  }

  // node-postgres calls this instead of handleReadyForQuery when the server answered with an
  // error, and when the connection broke.
  handleError(error: Error): void {
    this.settle(error)
  }

  handleReadyForQuery(): void {
    this.settle(undefined)
  }

  // A COPY FROM answers no rows; node-postgres calls these only for what a server sends.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

/**
 * Runs `sql`, a COPY ... FROM STDIN, on `client` with `messages` as its CopyData (each at most
 * what the server takes in one message); resolves with the rows copied.
 */
export function copyIn(client: pg.ClientBase, sql: string, messages: readonly Buffer[]): Promise<number> {
  const copy = new CopyFromMemory(sql, messages)
  void client.query(copy as unknown as pg.Submittable)
  return copy.copied
}
