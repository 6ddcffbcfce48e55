// A TCP socket as the web-stream pair pg-gateway reads and writes, with two duties of ours:
//
// - Backpressure: the readable holds at most one chunk. pg-gateway awaits each message's
//   handler, so while a connection's exchange waits for its turn on the one backend nothing
//   is read from it, and the socket is paused: the kernel's window, not our memory, holds
//   what a client sends ahead.
// - The frame guard sees every chunk first, so an oversized or malformed header ends this
//   connection with a FATAL error before its body is buffered.
//
// A socket that closes, resets or is destroyed ends the readable cleanly (pg-gateway logs
// stream errors to the console, and a vanished client is not an error of ours).
import type net from 'node:net'
import { FrameGuard, FrameRejected } from './frame-guard.ts'
import { errorResponse } from './wire-protocol.ts'

export interface SocketStreams {
  readable: ReadableStream<Uint8Array>
  writable: WritableStream<Uint8Array>
}

export function socketStreams(socket: net.Socket, maxMessageBytes: number, onRejected: (error: FrameRejected) => void): SocketStreams {
  const guard = new FrameGuard(maxMessageBytes)
  let finished = false
  const readable = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const finish = (): void => {
          if (finished) return
          finished = true
          controller.close()
        }
        socket.on('data', (chunk: Buffer) => {
          if (finished) return
          try {
            guard.check(chunk)
          } catch (error) {
            if (!(error instanceof FrameRejected)) throw error
            onRejected(error)
            socket.end(errorResponse('FATAL', error.code, error.message))
            finish()
            return
          }
          // pg-gateway reads lengths through `chunk.buffer` without the view's offset: hand it
          // a chunk that starts its own ArrayBuffer.
          controller.enqueue(chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length ? chunk : new Uint8Array(chunk))
          if ((controller.desiredSize ?? 0) <= 0) socket.pause()
        })
        socket.on('end', finish)
        socket.on('close', finish)
      },
      pull() {
        socket.resume()
      },
    },
    { highWaterMark: 1 },
  )
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      // Resolves when the kernel took the bytes: a client that stops reading stops its own
      // connection's loop, nobody else's.
      return new Promise((resolve) => {
        if (socket.destroyed || !socket.writable) resolve()
        else socket.write(chunk, () => resolve())
      })
    },
    close() {
      socket.end()
    },
    abort() {
      socket.destroy()
    },
  })
  return { readable, writable }
}
