// The load process of the service figures (upload-load.ts starts it): posts the bodies of one
// file with `clients` concurrent clients (keep-alive-poster.ts), every answer must be 200, and
// reads the service's CPU time before and after. Prints one JSON line, an UploadLoadResult.
import { parseArgs } from 'node:util'
import { keepAlivePoster, type Answer, type Poster } from './keep-alive-poster.ts'
import { machineCpuSeconds, processCpuSeconds } from './process-cpu.ts'
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
  const clients = Number(values.clients)
  const url = new URL(values.url!)
  const headers = { authorization: `Bearer ${values.token}`, 'content-type': values['content-type']! }
  const latencies: number[] = []
  let resent = 0
  // A kept-alive connection that the service closed for idling just as it was reused fails
  // before any answer (ECONNRESET; seen on a loaded machine, where the client's timer for it
  // fires late). The upload is sent again on a new connection: a repeat is harmless (its
  // samples count as duplicates), and the bench counts the rows afterwards.
  const post = async (poster: Poster, body: Buffer): Promise<Answer> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await poster.post(body)
      } catch (error) {
        if (attempt === 3) throw error
        resent++
      }
    }
  }
  let next = 0
  const client = async () => {
    const poster = keepAlivePoster(url, headers)
    try {
      while (next < bodies.length) {
        const body = bodies[next++]!
        const started = performance.now()
        const answer = await post(poster, body)
        if (answer.status !== 200) throw new Error(`upload refused: HTTP ${answer.status} ${answer.body}`)
        latencies.push(performance.now() - started)
      }
    } finally {
      poster.close()
    }
  }
  const cpuBefore = processCpuSeconds(servicePid)
  const machineBefore = machineCpuSeconds()
  const ownCpuBefore = process.cpuUsage()
  const started = performance.now()
  await Promise.all(Array.from({ length: clients }, client))
  const seconds = (performance.now() - started) / 1000
  const serviceCpuSeconds = processCpuSeconds(servicePid) - cpuBefore
  const ownCpu = process.cpuUsage(ownCpuBefore)
  const machine = machineCpuSeconds()
  latencies.sort((a, b) => a - b)
  return { uploads: latencies.length, seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), maxMs: latencies.at(-1) ?? 0, serviceCpuSeconds, loadCpuSeconds: (ownCpu.user + ownCpu.system) / 1e6, machineCpuSeconds: machine.busy - machineBefore.busy, machineBusyShare: (machine.busy - machineBefore.busy) / (machine.total - machineBefore.total), resent }
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`)
    process.exit(0)
  },
  (error: unknown) => {
    process.stderr.write(`load process: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
