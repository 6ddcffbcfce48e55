// The limit on an upload's raw bytes, without giving up @hono/node-server's direct body read.
// Hono's bodyLimit first looks at `c.req.raw.body`, and that alone makes node-server build a
// web Request around the Node request (an undici Request, an AbortSignal, a web stream over
// the socket) for every upload, which the upload then reads through. A body that declares its
// Content-Length is judged on the header: Node's HTTP parser never delivers more bytes than
// declared. Only a chunked body, whose size is known once read, goes through Hono's bodyLimit,
// which counts the bytes as they come.
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'

export function rawBodyLimit(maxBytes: number, onError: (c: Context) => never): MiddlewareHandler {
  const counted = bodyLimit({ maxSize: maxBytes, onError })
  return async (c, next) => {
    const declared = c.req.header('content-length')
    if (declared === undefined || c.req.header('transfer-encoding') !== undefined) return counted(c, next)
    if (Number(declared) > maxBytes) onError(c)
    await next()
  }
}
