// The load process of the service figures (upload-load.ts starts it): posts the bodies of one
// file with `clients` concurrent clients, every answer must be 200, and reads the service's
// CPU time before and after. Prints one JSON line, an UploadLoadResult.
import http from 'node:http'
import { parseArgs } from 'node:util'
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
  // node:http with one kept-alive connection per client: on 2 cores this process shares the
  // machine with the service, and fetch (undici) costs it about twice the CPU per request.
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients })
  const headers = { authorization: `Bearer ${values.token}`, 'content-type': values['content-type']! }
  const latencies: number[] = []
  let resent = 0
  const send = (body: Buffer): Promise<{ status: number; answer: string }> =>
    new Promise((resolve, reject) => {
      const request = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': body.length } }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => resolve({ status: response.statusCode!, answer: Buffer.concat(chunks).toString() }))
        response.on('error', reject)
      })
      request.on('error', reject)
      request.end(body)
    })
  // A keep-alive connection that the service closed for idling just as it was reused fails
  // before any answer (ECONNRESET; seen on a loaded machine, where the client's timer for it
  // fires late). The upload is sent again: a repeat is harmless (its samples count as
  // duplicates), and the bench counts the rows afterwards.
  const post = async (body: Buffer): Promise<{ status: number; answer: string }> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send(body)
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
      const { status, answer } = await post(body)
      if (status !== 200) throw new Error(`upload refused: HTTP ${status} ${answer}`)
      latencies.push(performance.now() - started)
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
  agent.destroy()
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
