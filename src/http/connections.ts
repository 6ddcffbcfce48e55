// How the upload server treats its connections, where Node's defaults do not fit:
//
// - `Expect: 100-continue`: Node answers `100 Continue` at once, before the app has looked at
//   the token or the size, so a client with a revoked token still sends its 50 MB to get a
//   401. Here the 100 is sent only when the app starts reading the body, which it does after
//   the token, the Content-Type, the admission and the declared size were checked.
// - Stopping: `server.close()` stops accepting connections but keeps serving the kept-alive
//   ones, so a client looping on one connection is served until the shutdown timeout. Here
//   requests in flight are answered, every answer from the signal on carries
//   `Connection: close`, and idle kept-alive connections are closed at once.
//
//   const connections = manageConnections(server)
//   process.on('SIGTERM', () => connections.close().then(...))
import type { IncomingMessage, Server, ServerResponse } from 'node:http'

export interface ConnectionManager {
  /** Stops accepting, answers what is in flight with `Connection: close`; resolves when all connections are closed. */
  close(): Promise<void>
  /** Cuts the connections still open (at the shutdown timeout). */
  closeAll(): void
}

export function manageConnections(server: Server): ConnectionManager {
  const unanswered = new Set<ServerResponse>()
  // Answers whose body was not read: the client may never send it, so the connection cannot carry another request.
  const bodyUnread = new WeakSet<ServerResponse>()
  let closing = false
  // Node writes `Connection: close` and ends the connection after an answer without keep-alive.
  const keepAlive = (response: ServerResponse, wanted: boolean) => {
    response.shouldKeepAlive = wanted && !closing && !bodyUnread.has(response)
  }

  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    if (closing) keepAlive(response, false)
    unanswered.add(response)
    response.once('close', () => unanswered.delete(response))
  })
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    const wanted = response.shouldKeepAlive
    bodyUnread.add(response)
    keepAlive(response, wanted)
    const read = request._read.bind(request)
    request._read = (size: number) => {
      request._read = read
      if (!response.headersSent) {
        response.writeContinue()
        bodyUnread.delete(response)
        keepAlive(response, wanted)
      }
      read(size)
    }
    server.emit('request', request, response)
  })

  return {
    close() {
      closing = true
      for (const response of unanswered) if (!response.headersSent) keepAlive(response, false)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      return closed
    },
    closeAll: () => server.closeAllConnections(),
  }
}
