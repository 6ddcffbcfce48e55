// The load process of the service figures (upload-load.ts starts it): posts the bodies of one
// file with `clients` concurrent clients, every answer must be 200, and reads the service's
// CPU time before and after. Prints one JSON line, an UploadLoadResult.
import { parseArgs } from 'node:util'
import { processCpuSeconds } from './process-cpu.ts'
import { percentile, readBodies, type UploadLoadResult } from './upload-load.ts'

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    'content-type': { type: 'string' },
    clients: { type: 'string' },
    bodies: { type: 'string' },
    'service-pid': { type: 'string' },
  },
})

async function main(): Promise<UploadLoadResult> {
  const bodies = readBodies(values.bodies!)
  const servicePid = Number(values['service-pid'])
  const headers = { authorization: `Bearer ${values.token}`, 'content-type': values['content-type']! }
  const latencies: number[] = []
  let resent = 0
  // A keep-alive connection that the service closed for idling just as it was reused fails
  // before any answer (ECONNRESET, "other side closed"; seen on a loaded machine, where the
  // client's timer for it fires late). The upload is sent again: a repeat is harmless (its
  // samples count as duplicates), and the bench counts the rows afterwards.
  const post = async (body: Buffer): Promise<Response> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetch(values.url!, { method: 'POST', headers, body })
      } catch (error) {
        if (attempt === 3) throw error
        resent++
      }
    }
  }
  let next = 0
  const client = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!
      const started = performance.now()
      const response = await post(body)
      const answer = await response.text()
      if (!response.ok) throw new Error(`upload refused: HTTP ${response.status} ${answer}`)
      latencies.push(performance.now() - started)
    }
  }
  const cpuBefore = processCpuSeconds(servicePid)
  const started = performance.now()
  await Promise.all(Array.from({ length: Number(values.clients) }, client))
  const seconds = (performance.now() - started) / 1000
  const serviceCpuSeconds = processCpuSeconds(servicePid) - cpuBefore
  latencies.sort((a, b) => a - b)
  return { uploads: latencies.length, seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), maxMs: latencies.at(-1) ?? 0, serviceCpuSeconds, resent }
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`)
    process.exit(0)
  },
  (error: unknown) => {
    // fetch's own message is only "fetch failed": the socket's error is its cause.
    const cause = error instanceof Error && error.cause !== undefined ? ` (${error.cause instanceof Error ? error.cause.message : String(error.cause)})` : ''
    process.stderr.write(`load process: ${error instanceof Error ? error.message : String(error)}${cause}\n`)
    process.exit(1)
  },
)
