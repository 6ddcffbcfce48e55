// One JSON-lines source file as a stream of numbered lines. The file is never held whole:
// readline pauses the read stream while the consumer is busy (uploads in flight), so memory
// stays at a few read chunks however large the file is.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

export interface SourceLine {
  /** The line without its line break. */
  text: string
  /** 1-based, as editors and error messages count. */
  number: number
}

export interface LineSource extends AsyncIterable<SourceLine> {
  /** Bytes taken from the file so far (runs at most one read chunk ahead of the lines). */
  bytesRead(): number
}

/**
 * @example
 * for await (const line of readLines('location.jsonl')) console.log(line.number, line.text)
 */
export function readLines(file: string): LineSource {
  const stream = createReadStream(file)
  return {
    bytesRead: () => stream.bytesRead,
    async *[Symbol.asyncIterator]() {
      // crlfDelay: a \r\n split across two chunks still counts as one line break.
      const lines = createInterface({ input: stream, crlfDelay: Infinity })
      let number = 0
      try {
        for await (const text of lines) yield { text, number: ++number }
      } finally {
        // The consumer may stop early (a bad line, an abort): release the file descriptor.
        lines.close()
        stream.destroy()
      }
    },
  }
}
