// The documentation's shell examples, run against a started service, so the docs cannot drift
// from the code (how blocks are chosen: test/support/markdown-examples.ts). The examples are
// written for the defaults (uploads on localhost:8080, SQL on 127.0.0.1:5433, metrics on
// 127.0.0.1:9464, data under ./data); here they run in a directory that looks like the project
// (its files linked in, `data` linking to the service's DATA_DIR) with those addresses replaced
// by the service's free ports.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missingOutputLines, shellExamples } from './support/markdown-examples.ts'
import { PROJECT_DIR, startService, temporaryDir, type RunningService } from './support/service.ts'

const DOCUMENTS = ['README.md', ...fs.readdirSync(path.join(PROJECT_DIR, 'docs')).filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`)]
const examples = DOCUMENTS.flatMap((document) => shellExamples(path.join(PROJECT_DIR, document), document).runnable)

let service: RunningService
let workDir: string
let addresses: [string, string][]

beforeAll(async () => {
  service = await startService()
  workDir = temporaryDir('telemetry-docs-')
  for (const entry of fs.readdirSync(PROJECT_DIR)) {
    if (entry === 'data' || entry === '.git') continue
    fs.symlinkSync(path.join(PROJECT_DIR, entry), path.join(workDir, entry))
  }
  fs.symlinkSync(service.dataDir, path.join(workDir, 'data'))
  const port = (url: string) => new URL(url).port
  addresses = [
    ['localhost:8080', `127.0.0.1:${port(service.baseUrl)}`],
    ['127.0.0.1:8080', `127.0.0.1:${port(service.baseUrl)}`],
    ['127.0.0.1:5433', `127.0.0.1:${port(service.databaseUrl)}`],
    ['127.0.0.1:9464', `127.0.0.1:${port(service.metricsUrl)}`],
  ]
})

afterAll(async () => {
  await service?.stop()
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true })
})

function run(script: string): Promise<{ code: number | null; output: string }> {
  const local = addresses.reduce((text, [from, to]) => text.replaceAll(from, to), script)
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', local], {
    cwd: workDir,
    env: { ...process.env, TELEMETRY_URL: service.baseUrl.replace('127.0.0.1', 'localhost'), DATA_DIR: '', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  // An example that waits for something (a server in the foreground, a prompt) fails instead of stalling the run.
  const timer = setTimeout(() => {
    output += `\n(still running after ${EXAMPLE_TIMEOUT_MS / 1000} s: stopped)`
    child.kill('SIGKILL')
  }, EXAMPLE_TIMEOUT_MS)
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    }),
  )
}

const EXAMPLE_TIMEOUT_MS = 90_000

describe('shell examples of the documentation', () => {
  it('are found (a block that cannot run says why with <!-- not-runnable: reason -->)', () => {
    expect(examples.length).toBeGreaterThan(5)
  })

  it.each(examples.map((example) => [example.where, example] as const))('%s runs', async (_, example) => {
    const result = await run(example.script)
    expect(result.code, `${example.where} failed (mark it <!-- not-runnable: reason --> if it cannot run in a test):\n${result.output}`).toBe(0)
    if (example.expectedOutput) {
      expect(missingOutputLines(example.expectedOutput, result.output), `${example.where}: the output shown is not what it prints:\n${result.output}`).toEqual([])
    }
  })
})
