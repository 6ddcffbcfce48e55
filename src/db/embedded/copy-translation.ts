// COPY over the wire, on what this PGlite build can do. The backend reads a COPY's data from
// the exchange's input buffer, and finding that buffer's end in the middle of a COPY FROM STDIN
// traps the WASM module (the database is gone until a restart): a raw `COPY ... FROM STDIN`
// alone through execProtocolRaw does exactly that. So the server never passes one through
// before it has all of its data: it plays the COPY sub-protocol with the client itself (the
// CopyInResponse, collecting the CopyData), then runs the statement on the protocol:
//
// - COPY FROM STDIN, for every login: the client's Query, all its CopyData, a CopyDone and then
//   a CopyFail go to the backend as one exchange; its answer, less the CopyInResponse the
//   client already had, goes back. COPY TO STDOUT: the client's Query and a CopyFail; the
//   backend's answer is passed through.
// - Why this is safe: it is exactly PostgreSQL's COPY FROM STDIN / TO STDOUT, run under the
//   login's own SESSION AUTHORIZATION (session-state.ts). PostgreSQL checks table, column and
//   row-level-security privileges as for INSERT or SELECT (a reader's COPY FROM fails with
//   42501 like its INSERT; a COPY TO of `devices`, whose token_hash it may not read, too).
//   No privilege is lent: no session ever gets pg_read_server_files or pg_write_server_files,
//   so nothing in the statement (a WHERE calling pg_read_file, a query calling pg_ls_dir)
//   reaches a server file, and no failure, cancel or reopening of the engine can leave a
//   grant behind. Lending the file roles for one statement was the alternative; it needs the
//   recognizer below to find every expression in the statement that could use them, which a
//   text match cannot promise.
// - The trailing CopyFail: a statement that wants more COPY data than the exchange holds (one
//   the recognizer took for a COPY TO STDOUT because a comment hid its FROM STDIN, or a second
//   COPY FROM STDIN in the same string) fails with 57014 on it instead of finding the input's
//   end; after a COPY that ended, the backend ignores a CopyFail (the protocol says so).
// - One exception, for speed: the `postgres` login's COPY TO STDOUT runs on PGlite's own blob
//   path, `COPY ... TO '/dev/blob'`, whose rows come back as one blob: about 4x faster than
//   the protocol's (measured through the SQL port, 400,000 rows: 235-290 ms against
//   950-1,210 ms; PGlite parses every CopyData message it sends). PostgreSQL sees a
//   server-side file there, which is why only the superuser may use it, why nobody may name
//   /dev/blob, and why a statement that mentions STDIN anywhere (PGlite's query API would run
//   a hidden COPY FROM STDIN with no data, which stopped the whole service) takes the
//   protocol path instead. COPY FROM STDIN has no such exception: on the protocol it is no
//   slower than FROM '/dev/blob' was (400,000 rows through the SQL port: 234-326 ms against
//   474-632 ms).

export interface CopyCommand {
  direction: 'in' | 'out'
  /** COPY TO STDOUT on PGlite's blob path (the `postgres` login): TO '/dev/blob' instead; else undefined. */
  blobSql: string | undefined
  binary: boolean
}

const COPY_FROM_STDIN = /^\s*copy\s+([\s\S]+?)\s+from\s+stdin\b([\s\S]*?)[\s;]*$/i
const COPY_TO_STDOUT = /^\s*copy\s+([\s\S]+?)\s+to\s+stdout\b([\s\S]*?)[\s;]*$/i

/** A simple Query that is exactly one COPY from STDIN or to STDOUT, translated; else undefined. */
export function translateCopy(sql: string): CopyCommand | undefined {
  const from = COPY_FROM_STDIN.exec(sql)
  const to = from ? undefined : COPY_TO_STDOUT.exec(sql)
  const match = from ?? to
  if (!match || match[2]!.includes(';')) return undefined
  const [, target, options] = match
  return {
    direction: from ? 'in' : 'out',
    blobSql: from || /stdin/i.test(sql) ? undefined : `COPY ${target} TO '/dev/blob'${options}`,
    binary: /\bbinary\b/i.test(options!),
  }
}

/**
 * SQL the server must not hand to PGlite as it is: a COPY with STDIN/STDOUT that is not a
 * lone simple Query (it would trap the engine), or PGlite's own blob device. Returns why.
 */
export function unsafeCopy(sql: string): string | undefined {
  if (/\/dev\/blob/i.test(sql)) return 'the file /dev/blob is reserved to the embedded server'
  if (/\bcopy\b[\s\S]*\b(stdin|stdout)\b/i.test(sql)) {
    return 'COPY FROM STDIN and COPY TO STDOUT must be sent on their own, as a simple query (psql \\copy does this)'
  }
  return undefined
}
