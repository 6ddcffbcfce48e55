// Streams the lines of each kind into its own file (`location.jsonl`, ...), in chunks, and
// waits when the disk falls behind: memory stays flat however long the simulation runs.
import { createWriteStream, type WriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { once } from 'node:events'
import { join } from 'node:path'
import type { SimulatedKind } from './samples.ts'

export const FILE_NAMES: Record<SimulatedKind, string> = {
  location: 'location.jsonl',
  activity: 'activity.jsonl',
  acceleration: 'acceleration.jsonl',
}

const CHUNK_CHARS = 64 * 1024

export interface WrittenFile {
  kind: SimulatedKind
  path: string
  bytes: number
}

export interface SampleFiles {
  /** Queues a line; returns a promise only when the caller must wait for the disk. */
  write(kind: SimulatedKind, line: string): Promise<void> | undefined
  /** Bytes handed to the files so far. */
  bytesWritten(): number
  /** Flushes and closes all files. */
  close(): Promise<WrittenFile[]>
}

/** Creates (or truncates) the three files in `directory`, creating the directory if needed. */
export async function openSampleFiles(directory: string): Promise<SampleFiles> {
  await mkdir(directory, { recursive: true })
  const outputs = (Object.keys(FILE_NAMES) as SimulatedKind[]).map((kind) => {
    const path = join(directory, FILE_NAMES[kind])
    return { kind, path, stream: createWriteStream(path), pending: '', bytes: 0 }
  })
  const byKind = new Map(outputs.map((output) => [output.kind, output]))
  let totalBytes = 0

  const flush = (output: (typeof outputs)[number]): boolean => {
    // Encoded once here: the byte count comes with it, and the stream takes the buffer as is.
    const chunk = Buffer.from(output.pending)
    output.pending = ''
    output.bytes += chunk.length
    totalBytes += chunk.length
    return output.stream.write(chunk)
  }

  return {
    write(kind, line) {
      const output = byKind.get(kind)!
      output.pending += line + '\n'
      if (output.pending.length < CHUNK_CHARS) return undefined
      return flush(output) ? undefined : drained(output.stream)
    },
    bytesWritten: () => totalBytes,
    async close() {
      for (const output of outputs) {
        if (output.pending !== '') flush(output)
        output.stream.end()
      }
      await Promise.all(outputs.map((output) => once(output.stream, 'finish')))
      return outputs.map(({ kind, path, bytes }) => ({ kind, path, bytes }))
    },
  }
}

async function drained(stream: WriteStream): Promise<void> {
  await once(stream, 'drain')
}
