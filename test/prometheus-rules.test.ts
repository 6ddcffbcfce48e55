// The Prometheus and Alertmanager files as their own tools read them: promtool checks the
// config and the rules and runs the rule unit tests, amtool checks Alertmanager's config.
// The tools come from Debian's `prometheus` and `prometheus-alertmanager` packages; a missing
// tool fails the test (spawn ENOENT) instead of skipping it.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { freePort, startAlertmanager, startPrometheus, TEST_RUNBOOK_BASE_URL } from './support/prometheus.ts'

const run = promisify(execFile)
const RULES_DIR = 'prometheus/rules'

async function tool(command: string, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(command, args)
  return stdout + stderr
}

interface AlertRule {
  alert?: string
  record?: string
  expr: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

interface RuleTest {
  name: string
  alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[]
}

async function filesIn(dir: string, suffix: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith(suffix)).map((name) => `${dir}/${name}`)
}

async function allRules(): Promise<AlertRule[]> {
  const rules: AlertRule[] = []
  for (const file of await filesIn(RULES_DIR, '.rules.yml')) {
    const { groups } = parse(await readFile(file, 'utf8')) as { groups: { rules: AlertRule[] }[] }
    for (const group of groups) rules.push(...group.rules)
  }
  return rules
}

async function alertRules(): Promise<(AlertRule & { alert: string })[]> {
  return (await allRules()).filter((rule): rule is AlertRule & { alert: string } => rule.alert !== undefined)
}

/** The one alert that fires always, on purpose: it has no silent case. */
const WATCHDOG = 'Watchdog'

interface ApiAlert {
  labels: Record<string, string>
  status: { state: string; inhibitedBy: string[] }
}

describe('prometheus and alertmanager files', () => {
  it('promtool accepts prometheus.yml and the rule files it loads', async () => {
    const output = await tool('promtool', 'check', 'config', 'prometheus/prometheus.yml')
    expect(output).toContain('SUCCESS: prometheus/prometheus.yml is valid')
    // The glob in rule_files must find the rules (and only them: not the *_test.yml files).
    const ruleFiles = await filesIn(RULES_DIR, '.rules.yml')
    expect(output).toContain(`SUCCESS: ${ruleFiles.length} rule files found`)
  })

  it('promtool accepts every rule file', async () => {
    const ruleFiles = await filesIn(RULES_DIR, '.rules.yml')
    const output = await tool('promtool', 'check', 'rules', ...ruleFiles)
    expect(output).toContain(`SUCCESS: ${(await allRules()).length} rules found`)
  })

  it('promtool rule unit tests pass', async () => {
    const testFiles = await filesIn(RULES_DIR, '_test.yml')
    expect(testFiles.length).toBeGreaterThan(0)
    const output = await tool('promtool', 'test', 'rules', ...testFiles)
    expect(output).toContain('SUCCESS')
    expect(output).not.toContain('FAILED')
  })

  it('every alert has a unit test that fires it and one that keeps it silent', async () => {
    const fired = new Set<string>()
    const silent = new Set<string>()
    for (const file of await filesIn(RULES_DIR, '_test.yml')) {
      const { tests } = parse(await readFile(file, 'utf8')) as { tests: RuleTest[] }
      for (const check of tests.flatMap((test) => test.alert_rule_test ?? [])) {
        ;(check.exp_alerts.length > 0 ? fired : silent).add(check.alertname)
      }
    }
    const names = (await alertRules()).map((rule) => rule.alert)
    expect(names.filter((name) => !fired.has(name))).toEqual([])
    expect(names.filter((name) => !silent.has(name) && name !== WATCHDOG)).toEqual([])
  })

  it('every alert tells the operator what, how bad, how much and where to read on', async () => {
    const rules = await alertRules()
    expect(rules.map((rule) => rule.alert).sort()).toEqual([
      'AlertmanagerNotificationsFailing',
      'DatabaseWriteErrors',
      'ErrorBudgetBurn',
      'EventLoopLag',
      'HighErrorRatio',
      'IngestionStalled',
      'PrometheusNotificationsFailing',
      'PrometheusRuleEvaluationFailures',
      'ServiceDown',
      'SlowUploads',
      'TimescaleJobFailures',
      'Watchdog',
    ])
    for (const rule of rules) {
      expect(rule.labels?.severity, rule.alert).toMatch(rule.alert === WATCHDOG ? /^none$/ : /^(critical|warning)$/)
      expect(rule.annotations?.summary, rule.alert).toBeTruthy()
      expect(rule.annotations?.description, rule.alert).toContain('$value')
      // Absolute once Prometheus has the runbook_base_url external label (see prometheus.yml).
      expect(rule.annotations?.runbook_url, rule.alert).toBe(`{{ $externalLabels.runbook_base_url }}#runbook-${rule.alert.toLowerCase()}`)
    }
  })

  it('docs/operations.md has the runbook section each runbook_url points at', async () => {
    const readme = await readFile('docs/operations.md', 'utf8')
    for (const rule of await alertRules()) {
      // GitHub turns the heading "Runbook: ServiceDown" into the anchor #runbook-servicedown.
      expect(readme, rule.alert).toMatch(new RegExp(`^#+ Runbook: ${rule.alert}$`, 'm'))
    }
  })

  it('amtool accepts alertmanager.yml', async () => {
    const output = await tool('amtool', 'check-config', 'alertmanager/alertmanager.yml')
    expect(output).toContain('SUCCESS')
    expect(output).toContain('2 receivers')
    // The Watchdog goes to the dead man's switch, everything else to the webhook.
    const route = async (...labels: string[]) => (await tool('amtool', 'config', 'routes', 'test', '--config.file=alertmanager/alertmanager.yml', ...labels)).trim().split('\n')[0]
    expect(await route('alertname=Watchdog', 'severity=none')).toBe('heartbeat')
    expect(await route('alertname=HighErrorRatio', 'severity=critical', 'job=telemetry-store')).toBe('webhook')
  })

  it('alertmanager/start.sh puts the operator’s receiver URLs into the configuration, and says when there are none', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'alertmanager-start-'))
    try {
      const start = (env: Record<string, string>) =>
        run('sh', ['alertmanager/start.sh', '--storage.path=/unused'], {
          // `true` in Alertmanager's place: the configuration is what is checked here.
          env: { ...process.env, ALERTMANAGER_BIN: 'true', ALERTMANAGER_TEMPLATE: 'alertmanager/alertmanager.yml', ALERTMANAGER_CONFIG: path.join(dir, 'out.yml'), ...env },
        })
      const webhooks = async () => {
        const config = parse(await readFile(path.join(dir, 'out.yml'), 'utf8')) as { receivers: { name: string; webhook_configs: { url: string }[] }[] }
        return Object.fromEntries(config.receivers.map((receiver) => [receiver.name, receiver.webhook_configs.map((webhook) => webhook.url)]))
      }
      // The operator's files: a URL with the characters a query string brings, and blanks around it.
      const alerts = 'https://hooks.example.org/alertmanager?token=a&b=c|d\\e'
      await writeFile(path.join(dir, 'webhook'), `  ${alerts}\n`)
      await writeFile(path.join(dir, 'heartbeat'), 'https://hc-ping.example.org/1234\n')
      const configured = await start({ ALERT_WEBHOOK_URL_FILE: path.join(dir, 'webhook'), ALERT_HEARTBEAT_URL_FILE: path.join(dir, 'heartbeat') })
      expect(await webhooks()).toEqual({ webhook: [alerts], heartbeat: ['https://hc-ping.example.org/1234'] })
      expect(configured.stderr).not.toContain('not configured')
      expect(await tool('amtool', 'check-config', path.join(dir, 'out.yml'))).toContain('SUCCESS')

      // No files (compose without the secrets): the .invalid defaults, and a line that says so.
      const unset = await start({ ALERT_WEBHOOK_URL_FILE: path.join(dir, 'none'), ALERT_HEARTBEAT_URL_FILE: path.join(dir, 'none') })
      expect(await webhooks()).toEqual({ webhook: ['http://alerts-not-configured.invalid/alerts'], heartbeat: ['http://heartbeat-not-configured.invalid/heartbeat'] })
      expect(unset.stderr).toMatch(/alert notifications are not configured[^\n]*ALERT_WEBHOOK_URL_FILE/)
      expect(unset.stderr).toMatch(/heartbeat notifications are not configured[^\n]*ALERT_HEARTBEAT_URL_FILE/)

      // A file that holds no URL stops the start instead of sending alerts nowhere.
      await writeFile(path.join(dir, 'typo'), 'hooks.example.org/alertmanager\n')
      await expect(start({ ALERT_WEBHOOK_URL_FILE: path.join(dir, 'typo') })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('must hold an http:// or https:// URL') })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('one replica down inhibits that replica’s alerts only, not the job-wide ones', async () => {
    // Nothing is delivered here: the receivers keep their "not configured" defaults.
    const alertmanager = await startAlertmanager({})
    try {
      const alert = (labels: Record<string, string>) => ({ labels, startsAt: new Date().toISOString() })
      const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          alert({ alertname: 'ServiceDown', severity: 'critical', job: 'telemetry-store', instance: 'app-1:9464' }),
          alert({ alertname: 'EventLoopLag', severity: 'warning', job: 'telemetry-store', instance: 'app-1:9464' }),
          alert({ alertname: 'EventLoopLag', severity: 'warning', job: 'telemetry-store', instance: 'app-2:9464' }),
          alert({ alertname: 'HighErrorRatio', severity: 'critical', job: 'telemetry-store' }),
        ]),
      })
      expect(posted.status).toBe(200)
      const inhibited = async () => {
        const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as ApiAlert[]
        return alerts
          .filter((a) => a.status.inhibitedBy.length > 0)
          .map((a) => `${a.labels.alertname} ${a.labels.instance ?? '(job)'}`)
          .sort()
      }
      await expect.poll(inhibited, { timeout: 10_000 }).toEqual(['EventLoopLag app-1:9464'])
    } finally {
      await alertmanager.stop()
    }
  })

  it('a real Prometheus fires ServiceDown through Alertmanager to the webhook', async () => {
    // The webhook receiver an operator would run, on loopback.
    const notifications: { status: string; alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] = []
    const receiver = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk: Buffer) => (body += chunk.toString()))
      request.on('end', () => {
        notifications.push(JSON.parse(body))
        response.end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const alertmanager = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts` })
    // Nothing listens on the target: every scrape fails, as when the service is down.
    const prometheus = await startPrometheus({ target: `127.0.0.1:${await freePort()}`, ruleFor: '2s', alertmanagerUrl: alertmanager.url })
    try {
      const deadline = Date.now() + 60_000
      const arrived = (name: string) => notifications.some((n) => n.alerts.some((a) => a.labels.alertname === name))
      while (!(arrived('ServiceDown') && arrived('Watchdog')) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      const alert = notifications.flatMap((n) => n.alerts).find((a) => a.labels.alertname === 'ServiceDown')
      expect(alert, `${prometheus.output()}\n${alertmanager.output()}`).toBeDefined()
      expect(alert!.status).toBe('firing')
      expect(alert!.labels).toMatchObject({ job: 'telemetry-store', severity: 'critical' })
      expect(alert!.annotations.runbook_url).toBe(`${TEST_RUNBOOK_BASE_URL}#runbook-servicedown`)
      expect(alert!.annotations.description).toContain('(up = 0)')
      // The dead man's switch beats as well.
      expect(notifications.flatMap((n) => n.alerts).some((a) => a.labels.alertname === 'Watchdog' && a.status === 'firing')).toBe(true)
    } finally {
      await prometheus.stop()
      await alertmanager.stop()
      await new Promise((resolve) => receiver.close(resolve))
    }
  })
})
