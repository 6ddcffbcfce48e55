// A bare PostgreSQL protocol client for tests that need to send exactly the messages a
// driver would (a Parse and its Bind in separate exchanges, a message with a huge declared
// length, garbage): startup, SCRAM-SHA-256 login, raw messages out, typed messages back.
import crypto from 'node:crypto'
import net from 'node:net'

export interface BackendMessage {
  type: string
  body: Buffer
}

export function message(type: string, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  const header = Buffer.alloc(5)
  header.write(type, 0, 'latin1')
  header.writeInt32BE(payload.length + 4, 1)
  return Buffer.concat([header, payload])
}

const cstring = (text: string): Buffer => Buffer.from(`${text}\0`, 'utf8')

export const wire = {
  query: (sql: string) => message('Q', cstring(sql)),
  parse: (name: string, sql: string) => message('P', Buffer.concat([cstring(name), cstring(sql), Buffer.from([0, 0])])),
  /** Bind with no parameters, results in text. */
  bind: (portal: string, statement: string) => message('B', Buffer.concat([cstring(portal), cstring(statement), Buffer.from([0, 0, 0, 0, 0, 0])])),
  describeStatement: (name: string) => message('D', Buffer.concat([Buffer.from('S'), cstring(name)])),
  execute: (portal: string) => message('E', Buffer.concat([cstring(portal), Buffer.from([0, 0, 0, 0])])),
  sync: () => message('S'),
  terminate: () => message('X'),
}

export class WireClient {
  private buffer = Buffer.alloc(0)
  private readonly inbox: BackendMessage[] = []
  private waiter: (() => void) | undefined
  closed = false

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      while (this.buffer.length >= 5 && this.buffer.length >= 1 + this.buffer.readInt32BE(1)) {
        const length = this.buffer.readInt32BE(1)
        this.inbox.push({ type: String.fromCharCode(this.buffer[0]!), body: this.buffer.subarray(5, 1 + length) })
        this.buffer = this.buffer.subarray(1 + length)
      }
      this.waiter?.()
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      this.closed = true
      this.waiter?.()
    })
  }

  /** Opens a socket to the URL's host and port without logging in. */
  static async open(databaseUrl: string): Promise<WireClient> {
    const url = new URL(databaseUrl)
    const socket = net.connect(Number(url.port), url.hostname)
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
    return new WireClient(socket)
  }

  /** Opens and logs in (SCRAM-SHA-256) with the URL's user and password. */
  static async connect(databaseUrl: string): Promise<WireClient> {
    const url = new URL(databaseUrl)
    const client = await WireClient.open(databaseUrl)
    const user = decodeURIComponent(url.username)
    const startup = Buffer.concat([Buffer.alloc(8), cstring('user'), cstring(user), cstring('database'), cstring('postgres'), Buffer.from([0])])
    startup.writeInt32BE(startup.length, 0)
    startup.writeInt32BE(196608, 4)
    client.socket.write(startup)
    await client.scram(user, decodeURIComponent(url.password))
    await client.until('Z')
    return client
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages))
  }

  /** Messages received up to and including the first of `type`; rejects when the server closed first. */
  async until(type: string): Promise<BackendMessage[]> {
    for (;;) {
      const index = this.inbox.findIndex((received) => received.type === type)
      if (index !== -1) return this.inbox.splice(0, index + 1)
      if (this.closed) throw new Error(`connection closed before "${type}"; got ${this.inbox.map((received) => received.type).join('')}`)
      await new Promise<void>((resolve) => (this.waiter = resolve))
    }
  }

  /** Resolves when the server has closed the connection, with everything it sent before. */
  async closedByServer(): Promise<BackendMessage[]> {
    while (!this.closed) await new Promise<void>((resolve) => (this.waiter = resolve))
    return this.inbox.splice(0)
  }

  end(): void {
    if (!this.closed) this.socket.end(wire.terminate())
  }

  private async scram(user: string, password: string): Promise<void> {
    const clientNonce = crypto.randomBytes(18).toString('base64')
    const clientFirstBare = `n=${user},r=${clientNonce}`
    const first = Buffer.from(`n,,${clientFirstBare}`)
    const length = Buffer.alloc(4)
    length.writeInt32BE(first.length)
    const request = (await this.until('R')).at(-1)!
    if (request.body.readInt32BE(0) === 0) return // AuthenticationOk: a server without passwords
    this.send(message('p', Buffer.concat([cstring('SCRAM-SHA-256'), length, first])))
    const serverFirst = (await this.until('R')).at(-1)!.body.subarray(4).toString()
    const fields = Object.fromEntries(serverFirst.split(',').map((field) => [field[0], field.slice(2)]))
    const salted = crypto.pbkdf2Sync(password, Buffer.from(fields.s!, 'base64'), Number(fields.i), 32, 'sha256')
    const clientKey = crypto.createHmac('sha256', salted).update('Client Key').digest()
    const storedKey = crypto.createHash('sha256').update(clientKey).digest()
    const withoutProof = `c=biws,r=${fields.r}`
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`
    const signature = crypto.createHmac('sha256', storedKey).update(authMessage).digest()
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!)).toString('base64')
    this.send(message('p', `${withoutProof},p=${proof}`))
    const answer = (await this.until('R')).at(-1)!
    if (answer.body.readInt32BE(0) !== 12) throw new Error('SCRAM login failed')
  }
}

/** The text columns of every DataRow in `messages`. */
export function dataRows(messages: BackendMessage[]): string[][] {
  return messages
    .filter((received) => received.type === 'D')
    .map(({ body }) => {
      const columns: string[] = []
      let offset = 2
      for (let i = 0; i < body.readInt16BE(0); i++) {
        const length = body.readInt32BE(offset)
        columns.push(length < 0 ? '' : body.toString('utf8', offset + 4, offset + 4 + length))
        offset += 4 + Math.max(length, 0)
      }
      return columns
    })
}

/** The SQLSTATE of the first ErrorResponse in `messages`, if any. */
export function errorCode(messages: BackendMessage[]): string | undefined {
  const error = messages.find((received) => received.type === 'E')
  if (!error) return undefined
  return error.body
    .toString('utf8')
    .split('\0')
    .find((field) => field.startsWith('C'))
    ?.slice(1)
}
