// A real Prometheus (and Alertmanager) for tests: Debian's binaries on loopback, temporary
// data directories, 1 s scrape and evaluation intervals, the project's own rule files and
// Alertmanager routing. Both are stopped by the caller's `stop()`.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parse, stringify } from 'yaml'
import { PROJECT_DIR } from './service.ts'

export interface RunningTool {
  url: string
  stop(): Promise<void>
  output(): string
}

export interface PrometheusOptions {
  /** host:port of the service's /metrics, scraped as job="telemetry-store" (what the rules select). */
  target: string
  /** Rule files to load, relative to the project (default: prometheus/rules/*.rules.yml of the repo). */
  ruleFiles?: string[]
  /**
   * Replaces every rule's `for:` (the rules wait minutes; a test cannot). The expressions,
   * labels and annotations stay as the files have them.
   */
  ruleFor?: string
  /** Alertmanager base URL (http://127.0.0.1:port) to send alerts to. */
  alertmanagerUrl?: string
  intervalSeconds?: number
  /**
   * RUNBOOK_BASE_URL in Prometheus' environment: the repo's prometheus.yml turns it into the
   * runbook_base_url external label that every runbook_url starts with.
   */
  runbookBaseUrl?: string
}

/** The runbook base the tests give Prometheus, as an operator sets RUNBOOK_BASE_URL. */
export const TEST_RUNBOOK_BASE_URL = 'https://docs.example.org/telemetry-store/operations.md'


export interface RunningPrometheus extends RunningTool {
  /** GET /api/v1/query; throws on an error answer (a query that does not parse, say). */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>
}

/** A port that was free a moment ago (Prometheus and Alertmanager cannot be given port 0). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

function spawnTool(command: string, args: string[], env?: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject) // ENOENT: the Debian package is not installed
    child.once('exit', (code) => resolve(code))
  })
  return { child, output: () => output, exited }
}

async function waitReady(url: string, exited: Promise<number | null>, output: () => string, timeoutMs = 30_000): Promise<void> {
  let gone: Error | undefined
  void exited.then(
    (code) => (gone = new Error(`${url}: exited with ${code}:\n${output()}`)),
    (error: Error) => (gone = error),
  )
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (gone) throw gone
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)
    if (ready) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms:\n${output()}`)
}

async function started(command: string, args: string[], url: string, dir: string, env?: Record<string, string>): Promise<RunningTool> {
  const { child, output, exited } = spawnTool(command, args, env)
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited.catch(() => undefined)
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await waitReady(url, exited, output)
  } catch (error) {
    await stop()
    throw error
  }
  return { url, stop, output }
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'prometheus-test-'))
  const interval = `${options.intervalSeconds ?? 1}s`
  const ruleFiles = options.ruleFiles ?? ['prometheus/rules/telemetry-store.rules.yml']
  const copied: string[] = []
  for (const [index, file] of ruleFiles.entries()) {
    const rules = parse(await readFile(path.join(PROJECT_DIR, file), 'utf8')) as { groups: { rules: { for?: string }[] }[] }
    if (options.ruleFor) for (const group of rules.groups) for (const rule of group.rules) if (rule.for) rule.for = options.ruleFor
    const target = path.join(dir, `${index}.rules.yml`)
    await writeFile(target, stringify(rules))
    copied.push(target)
  }
  // The external labels of the repo's prometheus.yml (the runbook base), expanded the way
  // Prometheus expands them in compose.
  const repoConfig = parse(await readFile(path.join(PROJECT_DIR, 'prometheus/prometheus.yml'), 'utf8')) as { global: { external_labels: Record<string, string> } }
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, external_labels: repoConfig.global.external_labels },
    rule_files: copied,
    ...(options.alertmanagerUrl && {
      alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(options.alertmanagerUrl).host] }] }] },
    }),
    scrape_configs: [{ job_name: 'telemetry-store', static_configs: [{ targets: [options.target] }] }],
  }
  await writeFile(path.join(dir, 'prometheus.yml'), stringify(config))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const tool = await started(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--enable-feature=expand-external-labels',
      // Alerts that fire before Alertmanager is discovered are dropped and, by default, sent
      // again only a minute later.
      '--rules.alert.resend-delay=1s',
    ],
    url,
    dir,
    { RUNBOOK_BASE_URL: options.runbookBaseUrl ?? TEST_RUNBOOK_BASE_URL },
  )
  return {
    ...tool,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: promql }) })
      const answer = (await response.json()) as { status: string; error?: string; data: { resultType: string; result: unknown } }
      if (answer.status !== 'success') throw new Error(`${promql}: ${answer.error}`)
      if (answer.data.resultType !== 'vector') throw new Error(`${promql}: a ${answer.data.resultType}, not an instant vector`)
      return answer.data.result as { metric: Record<string, string>; value: [number, string] }[]
    },
  }
}

/**
 * Alertmanager started the way compose starts it: through alertmanager/start.sh, which puts the
 * URLs of the files ALERT_WEBHOOK_URL_FILE and ALERT_HEARTBEAT_URL_FILE into the project's
 * alertmanager.yml. Here both files hold `webhookUrl`, and the routing's waits are cut to a
 * second. Without `webhookUrl` no URL file exists: the receivers keep their "not configured"
 * defaults.
 */
export async function startAlertmanager(options: { webhookUrl?: string }): Promise<RunningTool> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'alertmanager-test-'))
  const config = parse(await readFile(path.join(PROJECT_DIR, 'alertmanager/alertmanager.yml'), 'utf8'))
  Object.assign(config.route, { group_wait: '1s', group_interval: '1s' })
  await writeFile(path.join(dir, 'template.yml'), stringify(config))
  const urlFile = path.join(dir, 'receiver-url')
  if (options.webhookUrl) await writeFile(urlFile, `${options.webhookUrl}\n`)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  return started(
    'sh',
    [
      path.join(PROJECT_DIR, 'alertmanager/start.sh'),
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No gossip: a single instance, and nothing listening beyond loopback.
      '--cluster.listen-address=',
    ],
    url,
    dir,
    {
      ALERTMANAGER_BIN: 'prometheus-alertmanager', // Debian's name for it
      ALERTMANAGER_TEMPLATE: path.join(dir, 'template.yml'),
      ALERTMANAGER_CONFIG: path.join(dir, 'alertmanager.yml'),
      ALERT_WEBHOOK_URL_FILE: urlFile,
      ALERT_HEARTBEAT_URL_FILE: urlFile,
    },
  )
}
