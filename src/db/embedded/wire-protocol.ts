// The few pieces of the PostgreSQL v3 wire protocol the embedded server must understand
// itself (pg-gateway does startup, authentication and framing): the messages it answers on
// its own, and the prepared-statement names it rewrites. Everything else passes through to
// PGlite untouched.

export const SSL_REQUEST_CODE = 80877103
export const GSSENC_REQUEST_CODE = 80877104
export const CANCEL_REQUEST_CODE = 80877102

/** A frontend message after startup: type byte, then its bytes (type and length included). */
export interface FrontendMessage {
  type: string
  bytes: Buffer
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5)
  header.write(type, 0, 'latin1')
  header.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}

function cstrings(...values: string[]): Buffer {
  return Buffer.concat(values.map((value) => Buffer.from(`${value}\0`, 'utf8')))
}

export function parameterStatus(name: string, value: string): Buffer {
  return message('S', cstrings(name, value))
}

export function backendKeyData(processId: number, secretKey: number): Buffer {
  const body = Buffer.alloc(8)
  body.writeInt32BE(processId, 0)
  body.writeInt32BE(secretKey, 4)
  return message('K', body)
}

export function readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  return message('Z', Buffer.from(status, 'latin1'))
}

export function errorResponse(severity: 'ERROR' | 'FATAL', code: string, text: string, fields: { detail?: string; hint?: string; position?: string } = {}): Buffer {
  const extra = [fields.detail && `D${fields.detail}`, fields.hint && `H${fields.hint}`, fields.position && `P${fields.position}`].filter((field): field is string => !!field)
  return message('E', Buffer.concat([cstrings(`S${severity}`, `V${severity}`, `C${code}`, `M${text}`, ...extra), Buffer.from([0])]))
}

/** CopyInResponse / CopyOutResponse: text or binary, no per-column formats announced. */
export function copyResponse(direction: 'in' | 'out', binary: boolean): Buffer {
  return message(direction === 'in' ? 'G' : 'H', Buffer.from([binary ? 1 : 0, 0, 0]))
}

export function copyData(data: Uint8Array): Buffer {
  return message('d', Buffer.from(data.buffer, data.byteOffset, data.byteLength))
}

export function copyDone(): Buffer {
  return message('c', Buffer.alloc(0))
}

/** CopyFail: ends a COPY FROM STDIN with an error (57014 with this reason). */
export function copyFail(reason: string): Buffer {
  return message('f', cstrings(reason))
}

/** The backend's answer without its messages of one type (a CopyInResponse already sent). */
export function withoutMessages(response: Uint8Array, type: string): Buffer {
  const bytes = Buffer.from(response.buffer, response.byteOffset, response.byteLength)
  const kept: Buffer[] = []
  for (let offset = 0; offset + 5 <= bytes.length; ) {
    const end = offset + 1 + bytes.readInt32BE(offset + 1)
    if (String.fromCharCode(bytes[offset]!) !== type) kept.push(bytes.subarray(offset, end))
    offset = end
  }
  return Buffer.concat(kept)
}

export function commandComplete(tag: string): Buffer {
  return message('C', cstrings(tag))
}

/** Sync on its own: answered with ReadyForQuery and the backend's real transaction status. */
export function sync(): Buffer {
  return message('S', Buffer.alloc(0))
}

/** The NUL-terminated string of `body` at `start` ('' when it has no end). */
function cstringAt(body: Buffer, start: number): string {
  const end = body.indexOf(0, start)
  return end === -1 ? '' : body.toString('utf8', start, end)
}

/** The SQL text of a Query ('Q') or Parse ('P') message. */
export function sqlText(msg: FrontendMessage): string {
  const body = msg.bytes.subarray(5)
  return cstringAt(body, msg.type === 'Q' ? 0 : body.indexOf(0) + 1)
}

/** The reason a client's CopyFail gives. */
export function copyFailReason(msg: FrontendMessage): string {
  return cstringAt(msg.bytes.subarray(5), 0)
}

/**
 * The prepared statement a Parse defines, or a Bind, Describe or Close names; undefined for
 * other messages and for a Describe or Close of a portal.
 */
export function statementName(msg: FrontendMessage): string | undefined {
  const body = msg.bytes.subarray(5)
  switch (msg.type) {
    case 'P':
      return cstringAt(body, 0)
    case 'B':
      return cstringAt(body, body.indexOf(0) + 1)
    case 'D':
    case 'C':
      return body[0] === 0x53 /* S */ ? cstringAt(body, 1) : undefined
    default:
      return undefined
  }
}

/** Whether a Parse defines, or a Bind/Describe/Close uses, the unnamed statement. */
export function usesUnnamedStatement(msg: FrontendMessage): boolean {
  const body = msg.bytes.subarray(5)
  switch (msg.type) {
    case 'P':
      return body[0] === 0
    case 'B':
      return body[body.indexOf(0) + 1] === 0
    case 'D':
    case 'C':
      return body[0] === 0x53 /* S */ && body[1] === 0
    default:
      return false
  }
}

/** A Query message, used by the server for its own housekeeping (ROLLBACK on disconnect). */
export function simpleQuery(sql: string): Buffer {
  return message('Q', cstrings(sql))
}

/** Close (statement) + Sync, to drop a departed client's prepared statements (and to free a name for reuse). */
export function closeStatements(names: Iterable<string>): Buffer {
  const parts: Buffer[] = []
  for (const name of names) parts.push(message('C', Buffer.concat([Buffer.from('S', 'latin1'), cstrings(name)])))
  parts.push(message('S', Buffer.alloc(0)))
  return Buffer.concat(parts)
}

/**
 * Transaction status of the last ReadyForQuery in a backend response, or undefined when the
 * response has none (a Flush, or a COPY still waiting for data). Walks message boundaries,
 * so bytes inside a DataRow are never mistaken for one.
 */
export function lastReadyStatus(response: Uint8Array): 'I' | 'T' | 'E' | undefined {
  const view = Buffer.from(response.buffer, response.byteOffset, response.byteLength)
  let status: 'I' | 'T' | 'E' | undefined
  let offset = 0
  while (view.length - offset >= 5) {
    const length = view.readInt32BE(offset + 1)
    if (view[offset] === 0x5a /* Z */ && length === 5) status = String.fromCharCode(view[offset + 5]!) as 'I' | 'T' | 'E'
    offset += 1 + length
  }
  return status
}

/**
 * The rows (text columns) of a simple Query's answer, or the first error's message. For the
 * server's own small queries: PGlite's `query()` costs about 5 ms a call, its raw protocol
 * 0.1 ms.
 */
export function simpleQueryResult(response: Uint8Array): { rows: Array<Array<string | null>>; error: string | undefined } {
  const view = Buffer.from(response.buffer, response.byteOffset, response.byteLength)
  const rows: Array<Array<string | null>> = []
  let error: string | undefined
  for (let offset = 0; view.length - offset >= 5; offset += 1 + view.readInt32BE(offset + 1)) {
    const type = view[offset]
    if (type === 0x44 /* D */) {
      const columns: Array<string | null> = []
      let at = offset + 7
      for (let i = 0; i < view.readInt16BE(offset + 5); i++) {
        const length = view.readInt32BE(at)
        columns.push(length < 0 ? null : view.toString('utf8', at + 4, at + 4 + length))
        at += 4 + Math.max(length, 0)
      }
      rows.push(columns)
    } else if (type === 0x45 /* E */ && error === undefined) {
      const fields = view.toString('utf8', offset + 5, offset + 1 + view.readInt32BE(offset + 1)).split('\0')
      error = fields.find((field) => field.startsWith('M'))?.slice(1) ?? 'error'
    }
  }
  return { rows, error }
}

/**
 * Rewrites the prepared-statement name inside Parse, Bind, Describe and Close messages.
 * Named statements live in the one PGlite session that all clients share, so each client's
 * names are mapped to server-unique ones (two pgx clients both preparing `stmtcache_1` must
 * not collide). An outside client's unnamed statement is mapped to a name of its own too (see
 * wire-server.ts): it outlives the exchange that parsed it, and another client's Parse must not
 * replace it.
 */
export function renameStatement(msg: FrontendMessage, rename: (name: string, isParse: boolean) => string): Buffer {
  const body = msg.bytes.subarray(5)
  switch (msg.type) {
    case 'P': {
      // Parse: statement name, query, parameter types.
      const end = body.indexOf(0)
      return rebuilt(msg.type, rename(body.toString('utf8', 0, end), true), body.subarray(end + 1), undefined)
    }
    case 'B': {
      // Bind: portal name, statement name, the rest.
      const portalEnd = body.indexOf(0)
      const statementEnd = body.indexOf(0, portalEnd + 1)
      return rebuilt(msg.type, rename(body.toString('utf8', portalEnd + 1, statementEnd), false), body.subarray(statementEnd + 1), body.subarray(0, portalEnd + 1))
    }
    case 'D':
    case 'C': {
      // Describe / Close: 'S' + statement name, or 'P' + portal name (left alone).
      if (body[0] !== 0x53 /* S */) return msg.bytes
      const end = body.indexOf(0, 1)
      return rebuilt(msg.type, rename(body.toString('utf8', 1, end), false), body.subarray(end + 1), Buffer.from('S', 'latin1'))
    }
    default:
      return msg.bytes
  }
}

function rebuilt(type: string, name: string, after: Buffer, before: Buffer | undefined): Buffer {
  const parts = before ? [before, cstrings(name), after] : [cstrings(name), after]
  return message(type, Buffer.concat(parts))
}
