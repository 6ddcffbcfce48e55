// COPY over the wire, translated to what this PGlite build can do. A raw `COPY ... FROM STDIN`
// through execProtocolRaw traps the WASM module (the database is gone until a restart), so
// the server never passes one through: it plays the COPY sub-protocol with the client itself
// and runs the statement on PGlite's own path, `COPY ... FROM '/dev/blob'` with the collected
// data as a blob (and `TO '/dev/blob'`, whose rows come back as a blob).

export interface CopyCommand {
  direction: 'in' | 'out'
  /** The statement with STDIN/STDOUT replaced by PGlite's '/dev/blob'. */
  sql: string
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
    sql: `COPY ${target} ${from ? 'FROM' : 'TO'} '/dev/blob'${options}`,
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
