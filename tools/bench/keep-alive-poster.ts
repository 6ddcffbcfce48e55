// One load client of the bench: posts bodies one after another on a kept-alive HTTP/1.1
// connection of node:net, with the request head built once and the answers read by their
// Content-Length. The load process shares the machine's cores with the service it measures,
// so what it spends per request is taken from the service: measured on 100-sample uploads
// (docs/performance.md, "Choices made by measurement"), node:http's client cost 2.2-2.3 µs of
// CPU per sample, autocannon's 1.4-1.6, and this one 0.6, most of it the kernel's socket work.
import net from 'node:net'

export interface Answer {
  status: number
  body: string
}

export interface Poster {
  /** Posts `body`; resolves with the whole answer. One request at a time. */
  post(body: Uint8Array): Promise<Answer>
  close(): void
}

const HEAD_END = Buffer.from('\r\n\r\n')

/** A client for `url` (http://, POST) with these headers on every request. */
export function keepAlivePoster(url: URL, headers: Record<string, string>): Poster {
  const headPrefix = `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}content-length: `
  let socket: net.Socket | undefined
  let received: Buffer[] = []
  let waiting: { resolve(answer: Answer): void; reject(error: Error): void } | undefined

  function fail(failed: net.Socket, error: Error): void {
    failed.destroy()
    if (failed !== socket) return // an earlier connection's late event
    socket = undefined
    const pending = waiting
    waiting = undefined
    pending?.reject(error)
  }

  function onData(chunk: Buffer): void {
    received.push(chunk)
    const bytes = received.length === 1 ? chunk : Buffer.concat(received)
    const headEnd = bytes.indexOf(HEAD_END)
    if (headEnd < 0) return
    const head = bytes.toString('latin1', 0, headEnd)
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1]
    if (length === undefined) return fail(socket!, new Error(`an answer without Content-Length: ${head}`))
    const bodyEnd = headEnd + HEAD_END.length + Number(length)
    if (bytes.length < bodyEnd) {
      received = [bytes]
      return
    }
    received = []
    const pending = waiting
    waiting = undefined
    pending?.resolve({ status: Number(head.slice(9, 12)), body: bytes.toString('utf8', headEnd + HEAD_END.length, bodyEnd) })
  }

  function connected(): net.Socket {
    if (socket && !socket.destroyed) return socket
    received = []
    const opened = net.connect(Number(url.port), url.hostname)
    opened.setNoDelay(true)
    opened.on('data', onData)
    opened.on('error', (error) => fail(opened, error))
    opened.on('close', () => fail(opened, new Error('the connection closed before the answer')))
    socket = opened
    return opened
  }

  return {
    post(body) {
      return new Promise<Answer>((resolve, reject) => {
        waiting = { resolve, reject }
        const target = connected()
        target.cork()
        target.write(`${headPrefix}${body.length}\r\n\r\n`, 'latin1')
        target.write(body)
        target.uncork()
      })
    },
    close() {
      socket?.destroy()
      socket = undefined
    },
  }
}
