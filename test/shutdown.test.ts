// Stopping and starting as an operator does it: Ctrl-C on `npm start` in a terminal, with
// uploads in flight and kept-alive clients; and a start on ports that are taken.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fixture } from './support/fixtures.ts'
import { pendingUpload } from './support/http.ts'
import { PROJECT_DIR, runToExit, spawnTs, startService, temporaryDir, type Finished } from './support/service.ts'

const created: string[] = []
const started: ChildProcess[] = []
afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL')
  for (const dir of created) fs.rmSync(dir, { recursive: true, force: true })
})

function dataDir(): string {
  const dir = temporaryDir('telemetry-shutdown-')
  created.push(dir)
  return dir
}

/** `npm start` in a pseudo-terminal (util-linux `script`): writing \x03 is a Ctrl-C at the keyboard. */
function npmStartInTerminal(env: Record<string, string>): { child: ChildProcess; output: () => string; waitFor: (text: string) => Promise<string> } {
  const child = spawn('script', ['--quiet', '--flush', '--return', '--command', 'npm start', '/dev/null'], {
    cwd: PROJECT_DIR,
    env: { ...process.env, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', EMBEDDED_PG_PORT: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  started.push(child)
  let output = ''
  const waiters: { text: string; resolve: (line: string) => void }[] = []
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    for (const waiter of [...waiters]) {
      const line = output.split(/\r?\n/).find((candidate) => candidate.includes(waiter.text))
      if (line === undefined) continue
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve(line)
    }
  })
  const waitFor = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const line = output.split(/\r?\n/).find((candidate) => candidate.includes(text))
      if (line !== undefined) return resolve(line)
      waiters.push({ text, resolve })
      child.once('exit', () => reject(new Error(`exited before "${text}":\n${output}`)))
    })
  return { child, output: () => output, waitFor }
}

describe('Ctrl-C on npm start', () => {
  it('answers the uploads in flight, closes idle kept-alive connections at once, logs stopped and removes the lock', async () => {
    const dir = dataDir()
    const service = npmStartInTerminal({ DATA_DIR: dir })
    const ready = JSON.parse((await service.waitFor('"msg":"ready"')).trim()) as { http: string }
    const port = Number(new URL(ready.http).port)
    const token = fs.readFileSync(path.join(dir, 'local.token'), 'utf8').trim()
    expect(fs.existsSync(path.join(dir, 'embedded.lock'))).toBe(true)

    // A kept-alive connection that has had its answer and now sits idle.
    const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const health = await fetchOn(idleAgent, port, '/healthz')
    expect(health.status).toBe(200)
    const idleSocket = Object.values(idleAgent.freeSockets).flat()[0]!
    const idleClosed = once(idleSocket, 'close')

    const uploadAgent = new http.Agent({ keepAlive: true, maxSockets: 4 })
    const uploads = Array.from({ length: 4 }, () => pendingUpload(port, token, fixture('collection.bin'), uploadAgent))
    await Promise.all(uploads.map((upload) => upload.inRoute))

    service.child.stdin!.write('\x03')
    await service.waitFor('"msg":"shutting down')
    await idleClosed // before any upload is answered: closed at once, not at the shutdown timeout

    for (const upload of uploads) upload.sendBody()
    const answers = await Promise.all(uploads.map((upload) => upload.answer))
    for (const answer of answers) {
      expect(answer.status, answer.text).toBe(200)
      expect(answer.connection).toBe('close')
    }
    const [code] = (await once(service.child, 'exit')) as [number]
    expect(service.output()).toContain('"msg":"stopped"')
    // npm reports the Ctrl-C it was sent as 128 + SIGINT, after the service has stopped.
    expect(code).toBe(130)
    expect(fs.existsSync(path.join(dir, 'embedded.lock'))).toBe(false)
    idleAgent.destroy()
    uploadAgent.destroy()
  })
})

function fetchOn(agent: http.Agent, port: number, pathname: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathname, agent }, (response) => {
        response.resume()
        response.once('end', () => resolve({ status: response.statusCode! }))
      })
      .once('error', reject)
  })
}

describe('a start on a busy port', () => {
  it.each(['PORT', 'METRICS_PORT', 'EMBEDDED_PG_PORT'])('%s taken: one line naming the variable, nothing created, no lock', async (variable) => {
    const blocker = net.createServer()
    blocker.listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    const busyPort = String((blocker.address() as net.AddressInfo).port)
    const dir = dataDir()
    try {
      const run = await runToExit(
        spawnTs('src/main.ts', [], { DATA_DIR: dir, HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', EMBEDDED_PG_PORT: '0', [variable]: busyPort }),
      )
      expect(run.code).toBe(1)
      expect(run.stderr.trim().split('\n')).toEqual([`telemetry-store: 127.0.0.1:${busyPort} is in use by another process: stop that process or set ${variable} to a free port (0 picks one)`])
      expect(run.stdout).not.toContain('created device')
      expect(fs.readdirSync(dir)).toEqual([])
    } finally {
      blocker.close()
    }
  })

  it('a second start on the same DATA_DIR, its ports taken by the first, is told the DATA_DIR is in use', async () => {
    const first = await startService({ dataDir: dataDir() })
    try {
      const sqlPort = new URL(first.databaseUrl).port
      const second = await runToExit(spawnTs('src/main.ts', [], { DATA_DIR: first.dataDir, HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', EMBEDDED_PG_PORT: sqlPort }))
      expect(second.code).toBe(1)
      expect(second.stderr.trim().split('\n')).toHaveLength(1)
      expect(second.stderr).toMatch(/DATA_DIR is in use by process \d+/)
    } finally {
      await first.stop()
    }
  })
  it('two starts racing on one DATA_DIR: exactly one serves, the other exits 1 with one line', async () => {
    const env = { DATA_DIR: dataDir(), HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', EMBEDDED_PG_PORT: '0' }
    const starts = [spawnTs('src/main.ts', [], env), spawnTs('src/main.ts', [], env)]
    started.push(...starts)
    const outcomes = await Promise.all(starts.map(readyOrExit))
    try {
      expect(outcomes.filter((outcome) => outcome === 'ready')).toHaveLength(1)
      const refused = outcomes.find((outcome) => outcome !== 'ready') as Finished
      expect(refused.code).toBe(1)
      expect(refused.stderr.trim().split('\n')).toHaveLength(1)
      expect(refused.stderr).toMatch(/^telemetry-store: the embedded database in this DATA_DIR is in use by process \d+/)
    } finally {
      for (const child of starts) if (child.exitCode === null) child.kill('SIGTERM')
      await Promise.all(starts.map((child) => (child.exitCode === null ? once(child, 'exit') : undefined)))
    }
  })
})

/** 'ready' once the service logs it is ready; what it printed if it exits first. */
function readyOrExit(child: ChildProcess): Promise<'ready' | Finished> {
  const finished = runToExit(child)
  return new Promise((resolve) => {
    let stdout = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      if (stdout.includes('"msg":"ready"')) resolve('ready')
    })
    void finished.then(resolve)
  })
}
