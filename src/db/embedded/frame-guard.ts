// Watches the length headers of a client's byte stream, before pg-gateway buffers it, so that
// a message declaring an absurd length is refused at its header instead of being collected
// byte by byte until memory runs out (pg-gateway waits for whatever length a header claims).
// It reads headers only and keeps no data: linear in the bytes seen, constant in memory.
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, SSL_REQUEST_CODE } from './wire-protocol.ts'

export class FrameRejected extends Error {
  override name = 'FrameRejected'
  constructor(
    /** SQLSTATE for the FATAL answer: 54000 (too large) or 08P01 (protocol violation). */
    readonly code: '54000' | '08P01',
    message: string,
  ) {
    super(message)
  }
}

/** The largest startup packet PostgreSQL itself accepts (MAX_STARTUP_PACKET_LENGTH). */
const MAX_STARTUP_BYTES = 10_000

export class FrameGuard {
  /** Until the StartupMessage, packets have no type byte (SSLRequest, GSSENCRequest, startup). */
  private typed = false
  private header = Buffer.alloc(8)
  private headerFilled = 0
  /** Bytes of the current message's body still to pass. */
  private remaining = 0

  constructor(private readonly maxMessageBytes: number) {}

  /** Checks one chunk as it arrives; throws FrameRejected at the first bad header. */
  check(chunk: Uint8Array): void {
    let offset = 0
    while (offset < chunk.length) {
      if (this.remaining > 0) {
        const step = Math.min(this.remaining, chunk.length - offset)
        this.remaining -= step
        offset += step
        continue
      }
      const headerSize = this.typed ? 5 : 8
      const step = Math.min(headerSize - this.headerFilled, chunk.length - offset)
      this.header.set(chunk.subarray(offset, offset + step), this.headerFilled)
      this.headerFilled += step
      offset += step
      if (this.headerFilled < headerSize) return
      this.headerFilled = 0
      this.remaining = this.typed ? this.typedBody() : this.startupBody()
    }
  }

  private typedBody(): number {
    const length = this.header.readInt32BE(1)
    if (length < 4) throw new FrameRejected('08P01', `invalid message length ${length}`)
    if (length > this.maxMessageBytes) {
      throw new FrameRejected('54000', `message of ${length} bytes exceeds the limit of ${this.maxMessageBytes} bytes (EMBEDDED_PG_MAX_MESSAGE_BYTES)`)
    }
    return length - 4
  }

  private startupBody(): number {
    const length = this.header.readInt32BE(0)
    const code = this.header.readInt32BE(4)
    if (length < 8 || length > MAX_STARTUP_BYTES) throw new FrameRejected('08P01', `invalid startup packet length ${length}`)
    // After a StartupMessage (protocol 3.x) every message carries a type byte.
    if (code !== SSL_REQUEST_CODE && code !== GSSENC_REQUEST_CODE && code !== CANCEL_REQUEST_CODE) this.typed = true
    return length - 8
  }
}
