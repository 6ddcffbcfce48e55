// The few pieces of the PostgreSQL v3 wire protocol the embedded server must understand
// itself: framing, the startup handshake, and the prepared-statement names it rewrites.
// Everything else passes through to PGlite untouched.

export const SSL_REQUEST_CODE = 80877103
export const GSSENC_REQUEST_CODE = 80877104
export const CANCEL_REQUEST_CODE = 80877102
export const PROTOCOL_VERSION_3 = 196608

/** A frontend message after startup: type byte, then its bytes (type and length included). */
export interface FrontendMessage {
  type: string
  bytes: Buffer
}

/** Splits complete typed messages off the front of `buffer`; returns them and the rest. */
export function splitMessages(buffer: Buffer): { messages: FrontendMessage[]; rest: Buffer } {
  const messages: FrontendMessage[] = []
  let offset = 0
  while (buffer.length - offset >= 5) {
    const length = buffer.readInt32BE(offset + 1)
    if (length < 4) throw new ProtocolViolation(`message length ${length} is below 4`)
    if (buffer.length - offset < 1 + length) break
    messages.push({ type: String.fromCharCode(buffer[offset]!), bytes: buffer.subarray(offset, offset + 1 + length) })
    offset += 1 + length
  }
  return { messages, rest: buffer.subarray(offset) }
}

/** A startup-phase packet (no type byte), or undefined when not all of it has arrived. */
export function readStartupPacket(buffer: Buffer): { code: number; parameters: Map<string, string>; size: number } | undefined {
  if (buffer.length < 8) return undefined
  const size = buffer.readInt32BE(0)
  if (size < 8 || size > 10_000) throw new ProtocolViolation(`startup packet length ${size} is out of range`)
  if (buffer.length < size) return undefined
  const code = buffer.readInt32BE(4)
  const parameters = new Map<string, string>()
  if (code === PROTOCOL_VERSION_3) {
    const fields = buffer.subarray(8, size - 1).toString('utf8').split('\0')
    for (let i = 0; i + 1 < fields.length; i += 2) parameters.set(fields[i]!, fields[i + 1]!)
  }
  return { code, parameters, size }
}

export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation'
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

export function authenticationOk(): Buffer {
  return message('R', Buffer.from([0, 0, 0, 0]))
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

export function errorResponse(severity: 'ERROR' | 'FATAL', code: string, text: string): Buffer {
  return message('E', Buffer.concat([cstrings(`S${severity}`, `V${severity}`, `C${code}`, `M${text}`), Buffer.from([0])]))
}

/** A Query message, used by the server for its own housekeeping (ROLLBACK on disconnect). */
export function simpleQuery(sql: string): Buffer {
  return message('Q', cstrings(sql))
}

/** Close (statement) + Sync, to drop a departed client's prepared statements. */
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
 * Rewrites the prepared-statement name inside Parse, Bind, Describe and Close messages.
 * Named statements live in the one PGlite session that all clients share, so each client's
 * names are mapped to server-unique ones (two pgx clients both preparing `stmtcache_1` must
 * not collide). The unnamed statement is left alone: it never outlives one unit of work.
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
