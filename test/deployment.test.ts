// The deployment files agree with the code: docker-compose.yml, the rendered Kubernetes
// manifests (kubectl kustomize k8s), prometheus.yml and the Dockerfile name the same image,
// ports, probe paths and environment variables as src/config.ts and package.json. No Docker
// engine or cluster runs here, so this is what can be checked; kubectl must be installed.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { PROMETHEUS_RULE_FILE, prometheusRuleYaml, RULES_FILE } from '../k8s/as-code/prometheus-rule.ts'
import { startPlainPostgres } from './support/postgres.ts'

const run = promisify(execFile)

/** Every variable loadConfig reads: `env.NAME` and `(env, 'NAME', ...)` in its source text. */
async function serviceEnvironmentVariables(): Promise<Set<string>> {
  const source = await readFile('src/config.ts', 'utf8')
  const body = /export function loadConfig\([^]*?\n}\n/.exec(source)?.[0]
  if (!body) throw new Error('loadConfig not found in src/config.ts')
  const names = [...body.matchAll(/env\.([A-Z][A-Z0-9_]*)|\(env, '([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1] ?? m[2]!)
  // The OpenTelemetry variables, checked in otelConfig or passed to NodeSDK as they are.
  const otel = [...source.matchAll(/env\.(OTEL_[A-Z0-9_]+)|'(OTEL_[A-Z0-9_]+)'/g)].map((m) => m[1] ?? m[2]!)
  return new Set([...names, ...otel])
}

interface K8sObject {
  kind: string
  metadata: { name: string; annotations?: Record<string, string> }
  spec?: any
  data?: Record<string, string>
  stringData?: Record<string, string>
}

interface ComposeService {
  image?: string
  entrypoint?: string[]
  secrets?: string[]
  build?: unknown
  environment?: Record<string, string>
  command?: string[]
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, { condition: string }> | string[]
  healthcheck?: { test: string[] }
}

let configNames: Set<string>
let compose: { services: Record<string, ComposeService>; secrets?: Record<string, { file: string }> }
let manifests: K8sObject[]
let packageJson: { version: string; scripts: Record<string, string> }

beforeAll(async () => {
  configNames = await serviceEnvironmentVariables()
  compose = parse(await readFile('docker-compose.yml', 'utf8'))
  const { stdout } = await run('kubectl', ['kustomize', 'k8s'])
  manifests = parseAllDocuments(stdout).map((doc) => doc.toJS() as K8sObject)
  packageJson = JSON.parse(await readFile('package.json', 'utf8'))
})

const byKind = (kind: string, name: string) => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name)
  if (!found) throw new Error(`${kind}/${name} is not in the rendered manifests`)
  return found
}
const app = () => compose.services.app!
const deployment = () => byKind('Deployment', 'telemetry-store')
const container = () => deployment().spec.template.spec.containers[0]
/** The service's environment in Kubernetes: its ConfigMap plus the variables set one by one. */
function kubernetesEnvironment(): Record<string, string> {
  const fromConfigMaps = (container().envFrom ?? []).flatMap((source: any) =>
    source.configMapRef ? Object.entries(byKind('ConfigMap', source.configMapRef.name).data ?? {}) : [],
  )
  const single = (container().env ?? []).map((variable: any) => [variable.name, variable.value ?? '<from secret>'])
  return Object.fromEntries([...fromConfigMaps, ...single])
}

describe('deployment files', () => {
  it('reads the variable names from src/config.ts', () => {
    for (const name of ['DATABASE_URL', 'PORT', 'METRICS_HOST', 'METRICS_PORT']) expect(configNames).toContain(name)
  })

  it('kubectl kustomize renders the service, its database and autoscaling', () => {
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(
      expect.arrayContaining([
        'ConfigMap/telemetry-store-config',
        'Deployment/telemetry-store',
        'HorizontalPodAutoscaler/telemetry-store',
        'Secret/telemetry-store-db',
        'Service/telemetry-store',
        'Service/timescaledb',
        'StatefulSet/timescaledb',
      ]),
    )
    expect(deployment().spec.replicas).toBeGreaterThanOrEqual(2)
    expect(byKind('HorizontalPodAutoscaler', 'telemetry-store').spec.minReplicas).toBeGreaterThanOrEqual(2)
    expect(byKind('Service', 'timescaledb').spec.clusterIP).toBe('None')
    expect(container().resources.requests).toBeDefined()
    expect(container().resources.limits).toBeDefined()
  })

  it('sets only variables src/config.ts reads, in compose and in Kubernetes', () => {
    expect(Object.keys(app().environment!).filter((name) => !configNames.has(name))).toEqual([])
    expect(Object.keys(kubernetesEnvironment()).filter((name) => !configNames.has(name))).toEqual([])
    // Both talk to their TimescaleDB server, and expose /metrics beyond loopback.
    expect(app().environment!.DATABASE_URL).toMatch(/^postgres:\/\/.+@timescaledb:5432\//)
    expect(container().env.find((v: any) => v.name === 'DATABASE_URL').valueFrom.secretKeyRef.name).toBe('telemetry-store-db')
    expect(byKind('Secret', 'telemetry-store-db').stringData!.DATABASE_URL).toMatch(/@timescaledb[-.\w]*:5432\//)
    expect(app().environment!.METRICS_HOST).toBe('0.0.0.0')
    expect(kubernetesEnvironment().METRICS_HOST).toBe('0.0.0.0')
  })

  it('agrees on the image', async () => {
    const image = `telemetry-store:${packageJson.version}`
    expect(app().image).toBe(image)
    expect(app().build).toBeDefined()
    expect(container().image).toBe(image)
  })

  it('agrees on the ports: service, metrics, probes, scrape targets', async () => {
    const port = app().environment!.PORT!
    const metricsPort = app().environment!.METRICS_PORT!
    expect(kubernetesEnvironment().PORT).toBe(port)
    expect(kubernetesEnvironment().METRICS_PORT).toBe(metricsPort)
    expect(app().ports!.map((mapping) => mapping.split(':').at(-1))).toEqual(expect.arrayContaining([port, metricsPort]))

    const ports = Object.fromEntries(container().ports.map((p: any) => [p.name, String(p.containerPort)]))
    expect(ports).toEqual({ http: port, metrics: metricsPort })
    const annotations = deployment().spec.template.metadata.annotations
    expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': metricsPort, 'prometheus.io/path': '/metrics' })
    const servicePorts = byKind('Service', 'telemetry-store').spec.ports.map((p: any) => p.targetPort)
    expect(servicePorts.sort()).toEqual(['http', 'metrics'])

    const prometheus = parse(await readFile('prometheus/prometheus.yml', 'utf8'))
    const job = prometheus.scrape_configs.find((c: any) => c.job_name === 'telemetry-store')
    expect(job.static_configs[0].targets).toEqual([`app:${metricsPort}`])

    const dockerfile = await readFile('Dockerfile', 'utf8')
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE .*\\b${port}\\b.*\\b${metricsPort}\\b`, 'm'))
  })

  it('probes /readyz for readiness and /healthz for liveness everywhere', async () => {
    const spec = container()
    expect(spec.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' })
    expect(spec.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' })
    expect(await readFile('Dockerfile', 'utf8')).toMatch(/^HEALTHCHECK [^]*\/healthz/m)
    // The routes exist in the service.
    const health = await readFile('src/http/health-routes.ts', 'utf8')
    expect(health).toContain("'/healthz'")
    expect(health).toContain("'/readyz'")
  })

  it('starts the app only once TimescaleDB is healthy', () => {
    const db = compose.services.timescaledb!
    expect(db.image).toMatch(/^timescale\/timescaledb:/)
    expect(db.healthcheck!.test.join(' ')).toContain('pg_isready')
    expect(db.volumes!.some((volume) => volume.endsWith(':/var/lib/postgresql/data'))).toBe(true)
    expect(app().depends_on).toEqual({ timescaledb: { condition: 'service_healthy' }, migrate: { condition: 'service_completed_successfully' } })
    expect(byKind('StatefulSet', 'timescaledb').spec.template.spec.containers[0].image).toBe(db.image)
  })

  it('pins TimescaleDB to one release with the PostgreSQL major the embedded engine runs', () => {
    // The embedded engine is PostgreSQL 17 + TimescaleDB 2.23: the migrations are tested there.
    expect(compose.services.timescaledb!.image).toMatch(/^timescale\/timescaledb:2\.(2[3-9]|[3-9]\d)\.\d+-pg17$/)
  })

  it('runs migrations as the owner and the service as telemetry_ingest, in compose and in Kubernetes', () => {
    const user = (url: string) => new URL(url).username
    const owner = compose.services.timescaledb!.environment!.POSTGRES_USER!
    const migrate = compose.services.migrate!
    expect(migrate.command).toEqual(['node', 'dist/cli/migrate.js'])
    expect(migrate.image).toBe(app().image)
    expect(user(migrate.environment!.DATABASE_URL!)).toBe(owner)
    expect(user(app().environment!.DATABASE_URL!)).toBe('telemetry_ingest')

    const secret = byKind('Secret', 'telemetry-store-db').stringData!
    const [init] = deployment().spec.template.spec.initContainers
    expect(init.command).toEqual(['node', 'dist/cli/migrate.js'])
    expect(init.env.find((v: any) => v.name === 'DATABASE_URL').valueFrom.secretKeyRef.key).toBe('OWNER_DATABASE_URL')
    expect(user(secret.OWNER_DATABASE_URL!)).toBe(owner)
    expect(user(secret.DATABASE_URL!)).toBe('telemetry_ingest')
    // The same login-role script initialises both databases.
    const scriptMount = compose.services.timescaledb!.volumes!.find((v) => v.includes('/docker-entrypoint-initdb.d/'))!
    expect(scriptMount.split(':')[0]).toBe('./k8s/timescaledb-login-roles.sh')
    const initScript = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('timescaledb-init'))!
    expect(Object.keys(initScript.data!)).toEqual(['100-login-roles.sh'])
  })

  it('the login-role script makes telemetry_ingest and grafana_reader members of the group roles', async () => {
    const postgres = await startPlainPostgres()
    try {
      const url = new URL(postgres.url)
      const env = { ...process.env, PGHOST: url.hostname, PGPORT: url.port, POSTGRES_USER: 'postgres', POSTGRES_DB: 'postgres', INGEST_DB_PASSWORD: "in'gest", GRAFANA_DB_PASSWORD: 'reader' }
      await run('sh', ['k8s/timescaledb-login-roles.sh'], { env })
      const { stdout } = await run('psql', [
        postgres.url,
        '-Atc',
        "select pg_has_role('telemetry_ingest', 'telemetry_service', 'member'), pg_has_role('grafana_reader', 'telemetry_reader', 'member'), pg_has_role('grafana_reader', 'telemetry_service', 'member'), (select rolsuper or rolcreaterole or rolcreatedb from pg_roles where rolname = 'telemetry_ingest')",
      ])
      expect(stdout.trim()).toBe('t|t|f|f')
    } finally {
      postgres.stop()
    }
  })

  it('keeps Grafana to this machine, without anonymous access or a default admin password', () => {
    const grafana = compose.services.grafana!
    expect(grafana.ports).toEqual(['${GRAFANA_BIND:-127.0.0.1}:3000:3000'])
    expect(grafana.environment!.GF_AUTH_ANONYMOUS_ENABLED).toBe('${GRAFANA_ANONYMOUS:-false}')
    // `${NAME:?message}`: compose refuses to start without it.
    expect(grafana.environment!.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}$/)
    for (const name of ['POSTGRES_PASSWORD', 'INGEST_DB_PASSWORD', 'GRAFANA_DB_PASSWORD']) {
      expect(compose.services.timescaledb!.environment![name], name).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/)
    }
    // Every other port on loopback, except the upload port devices reach.
    for (const [name, service] of Object.entries(compose.services)) {
      for (const mapping of service.ports ?? []) {
        if (name === 'app' && mapping === '8080:8080') continue
        expect(mapping, name).toMatch(/^(127\.0\.0\.1|\$\{GRAFANA_BIND:-127\.0\.0\.1\}):/)
      }
    }
  })

  it('sends Grafana-managed alerts to the same Alertmanager and receiver as Prometheus’ alerts', async () => {
    const notifications = parse(await readFile('grafana/provisioning/alerting/notifications.yml', 'utf8'))
    const [contactPoint] = notifications.contactPoints
    const [receiver] = contactPoint.receivers
    expect(receiver.type).toBe('prometheus-alertmanager')
    expect(notifications.policies[0].receiver).toBe(contactPoint.name)
    // ${ALERTMANAGER_URL} is Grafana's environment: compose's Alertmanager, as Prometheus uses.
    expect(receiver.settings.url).toBe('${ALERTMANAGER_URL}')
    const alertmanagerUrl = new URL(compose.services.grafana!.environment!.ALERTMANAGER_URL!)
    const prometheus = parse(await readFile('prometheus/prometheus.yml', 'utf8'))
    expect(prometheus.alerting.alertmanagers[0].static_configs[0].targets).toEqual([alertmanagerUrl.host])
    // Alertmanager routes the Grafana alert (its labels as Grafana sends them) to the webhook.
    const rules = parse(await readFile('grafana/provisioning/alerting/device-silent.yml', 'utf8'))
    const rule = rules.groups[0].rules[0]
    const labels = Object.entries({ alertname: rule.title, ...rule.labels, grafana_folder: rules.groups[0].folder, device: 'phone' }).map(([k, v]) => `${k}=${v}`)
    const { stdout } = await run('amtool', ['config', 'routes', 'test', '--config.file=alertmanager/alertmanager.yml', ...labels])
    expect(stdout.trim()).toBe('webhook')
  })

  it('takes where alerts go from files the operator provides: compose secrets, a Kubernetes Secret', async () => {
    type Receiver = { name: string; webhook_configs: { url: string; send_resolved: boolean }[] }
    const alertmanager = parse(await readFile('alertmanager/alertmanager.yml', 'utf8')) as {
      route: { receiver: string; group_by: string[]; routes: { matchers: string[]; receiver: string }[] }
      receivers: Receiver[]
      inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[]
    }
    // The defaults say "not configured" and never resolve.
    const defaults = Object.fromEntries(alertmanager.receivers.map((r) => [r.name, r.webhook_configs[0]!.url]))
    expect(defaults).toEqual({ webhook: 'http://alerts-not-configured.invalid/alerts', heartbeat: 'http://heartbeat-not-configured.invalid/heartbeat' })

    // Compose: start.sh (mounted with the config) reads each secret where compose puts it.
    const service = compose.services.alertmanager!
    expect(service.entrypoint).toEqual(['/bin/sh', '/etc/alertmanager/start.sh'])
    expect(existsSync('alertmanager/start.sh')).toBe(true)
    expect(service.command).not.toContain('--config.file=/etc/alertmanager/alertmanager.yml') // start.sh writes the one it reads
    const start = await readFile('alertmanager/start.sh', 'utf8')
    for (const [secret, variable] of [['alert_webhook_url', 'ALERT_WEBHOOK_URL_FILE'], ['alert_heartbeat_url', 'ALERT_HEARTBEAT_URL_FILE']] as const) {
      expect(service.secrets).toContain(secret)
      expect(start).toContain(`\${${variable}:-/run/secrets/${secret}}`)
      // The operator names the file; unset, an empty one: start.sh then logs "not configured".
      const file = compose.secrets![secret]!.file
      expect(file).toMatch(new RegExp(`^\\$\\{${variable}:-(\\./[^}]+)\\}$`))
      const fallback = /:-([^}]+)\}/.exec(file)![1]!
      expect(await readFile(fallback, 'utf8'), fallback).toBe('')
    }

    // Kubernetes (Prometheus Operator): the same routing, the URLs from the Secret.
    const config = parse(await readFile('k8s/alertmanagerconfig.yaml', 'utf8'))
    expect(config.kind).toBe('AlertmanagerConfig')
    expect(config.metadata.namespace).toBe(byKind('Namespace', 'telemetry-store').metadata.name)
    const secret = byKind('Secret', 'alertmanager-receivers').stringData!
    const matchers = (list: { name: string; value: string; matchType: string }[]) => list.map((m) => `${m.name}${m.matchType}"${m.value}"`)
    expect(config.spec.route.receiver).toBe(alertmanager.route.receiver)
    expect(config.spec.route.groupBy).toEqual(alertmanager.route.group_by)
    expect(config.spec.route.routes.map((r: any) => [matchers(r.matchers), r.receiver])).toEqual(alertmanager.route.routes.map((r) => [r.matchers, r.receiver]))
    expect(
      config.spec.receivers.map((r: any) => ({ name: r.name, webhook_configs: r.webhookConfigs.map((w: any) => ({ url: secret[w.urlSecret.key], send_resolved: w.sendResolved })) })),
    ).toEqual(alertmanager.receivers)
    for (const receiver of config.spec.receivers) expect(receiver.webhookConfigs[0].urlSecret.name).toBe('alertmanager-receivers')
    expect(config.spec.inhibitRules.map((r: any) => ({ source_matchers: matchers(r.sourceMatch), target_matchers: matchers(r.targetMatch), equal: r.equal }))).toEqual(alertmanager.inhibit_rules)
  })

  it('gives the alert rules a folder no dashboard provider also creates (rule files name folders by title only)', async () => {
    const rules = parse(await readFile('grafana/provisioning/alerting/device-silent.yml', 'utf8'))
    const providers = parse(await readFile('grafana/provisioning/dashboards/dashboards.yml', 'utf8')).providers
    for (const provider of providers) expect(provider.folderUid, provider.name).toMatch(/^[\w-]+$/)
    const dashboardFolders = providers.map((provider: { folder: string }) => provider.folder)
    for (const group of rules.groups) expect(dashboardFolders).not.toContain(group.folder)
  })

  it('labels the scrape job telemetry-store in Kubernetes as in compose (PodMonitor)', async () => {
    const monitor = parse(await readFile('k8s/podmonitor.yaml', 'utf8'))
    expect(monitor.kind).toBe('PodMonitor')
    expect(monitor.metadata.namespace).toBe(byKind('Namespace', 'telemetry-store').metadata.name)
    expect(deployment().spec.template.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels)
    const [endpoint] = monitor.spec.podMetricsEndpoints
    expect(container().ports.map((p: any) => p.name)).toContain(endpoint.port)
    expect(endpoint.relabelings).toContainEqual({ action: 'replace', targetLabel: 'job', replacement: 'telemetry-store' })
    const prometheus = parse(await readFile('prometheus/prometheus.yml', 'utf8'))
    expect(prometheus.scrape_configs.map((c: any) => c.job_name)).toContain(endpoint.relabelings[0].replacement)
  })

  it('gives the operator’s Prometheus the alert and recording rules: a PrometheusRule generated from the rules file', async () => {
    const committed = await readFile(PROMETHEUS_RULE_FILE, 'utf8')
    expect(committed, `${PROMETHEUS_RULE_FILE} is stale: run npm run k8s:rules`).toBe(prometheusRuleYaml())
    const resource = parse(committed)
    expect(resource).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' })
    expect(resource.metadata.namespace).toBe(byKind('Namespace', 'telemetry-store').metadata.name)
    // Applied beside the kustomization, like the PodMonitor: kubectl apply -k must not need the CRDs.
    expect(manifests.map((m) => m.kind)).not.toContain('PrometheusRule')
    // Every group of the rules file compose's Prometheus loads (and promtool tests), unchanged.
    expect(resource.spec.groups).toEqual(parse(await readFile(RULES_FILE, 'utf8')).groups)

    // The CRD's shape, from the operator's pkg/apis/monitoring/v1/prometheusrule_types.go
    // (prometheus-operator v0.93.0): the fields of a RuleGroup and a Rule, and its Duration pattern.
    const groupFields = ['name', 'labels', 'interval', 'query_offset', 'rules', 'partial_response_strategy', 'limit']
    const ruleFields = ['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']
    const duration = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/
    for (const group of resource.spec.groups) {
      expect(groupFields, group.name).toEqual(expect.arrayContaining(Object.keys(group)))
      expect(group.name).not.toBe('')
      for (const rule of group.rules) {
        const name = `${group.name} / ${rule.alert ?? rule.record}`
        expect(ruleFields, name).toEqual(expect.arrayContaining(Object.keys(rule)))
        expect([rule.alert, rule.record].filter((field) => field !== undefined), name).toHaveLength(1)
        expect(typeof rule.expr, name).toBe('string')
        for (const field of ['for', 'keep_firing_for'] as const) if (rule[field] !== undefined) expect(rule[field], name).toMatch(duration)
        for (const map of [rule.labels ?? {}, rule.annotations ?? {}]) for (const value of Object.values(map)) expect(typeof value, name).toBe('string')
      }
    }
  })

  it('mounts the monitoring files where their configs expect them', async () => {
    const mounts = (service: string) => Object.fromEntries(compose.services[service]!.volumes!.map((v) => v.split(':').slice(0, 2).reverse()))
    expect(mounts('prometheus')['/etc/prometheus']).toBe('./prometheus')
    expect(mounts('alertmanager')['/etc/alertmanager']).toBe('./alertmanager')
    expect(mounts('grafana')['/etc/grafana/provisioning']).toBe('./grafana/provisioning')
    const provider = parse(await readFile('grafana/provisioning/dashboards/dashboards.yml', 'utf8')).providers[0]
    // Grafana fills in ${NAME} from its environment.
    const dashboardsPath = provider.options.path.replace(/\$\{(\w+)\}/, (_: string, name: string) => compose.services.grafana!.environment![name]!)
    expect(mounts('grafana')[dashboardsPath]).toBe('./grafana/dashboards')
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!
        if (source.startsWith('./')) expect(existsSync(source), volume).toBe(true)
      }
    }
  })

  it('sends traces to a pinned Tempo that Grafana reads, in compose and in Kubernetes', async () => {
    const tempoConfig = await readFile('tempo/tempo.yaml', 'utf8')
    // kustomize reads files under k8s/ only: its copy must stay the same file.
    expect(await readFile('k8s/tempo-config.yaml', 'utf8')).toBe(tempoConfig)
    const tempo = parse(tempoConfig)
    const otlpHttpPort = tempo.distributor.receivers.otlp.protocols.http.endpoint.split(':').at(-1)
    const queryPort = String(tempo.server.http_listen_port)

    const tempoService = compose.services.tempo!
    expect(tempoService.image).toMatch(/^grafana\/tempo:\d+\.\d+\.\d+$/)
    expect(Object.fromEntries(tempoService.volumes!.map((v) => v.split(':').slice(0, 2).reverse()))['/etc/tempo/tempo.yaml']).toBe('./tempo/tempo.yaml')
    expect(app().environment).toMatchObject({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `http://tempo:${otlpHttpPort}` })
    expect(compose.services.grafana!.environment!.TEMPO_URL).toBe(`http://tempo:${queryPort}`)
    const datasources = parse(await readFile('grafana/provisioning/datasources/datasources.yml', 'utf8')).datasources
    expect(datasources.find((source: any) => source.uid === 'tempo')).toMatchObject({ type: 'tempo', url: '${TEMPO_URL}' })

    const tempoDeployment = byKind('Deployment', 'tempo').spec.template.spec
    expect(tempoDeployment.containers[0].image).toBe(tempoService.image)
    const configMap = byKind('ConfigMap', tempoDeployment.volumes.find((volume: any) => volume.configMap).configMap.name)
    expect(configMap.data!['tempo.yaml']).toBe(tempoConfig)
    expect(byKind('Service', 'tempo').spec.ports.map((p: any) => String(p.port))).toContain(otlpHttpPort)
    expect(kubernetesEnvironment()).toMatchObject({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `http://tempo:${otlpHttpPort}` })
  })

  it('builds the image with the package.json scripts and runs the compiled service as non-root', async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8')
    const stages = dockerfile.split(/^FROM /m).slice(1)
    expect(stages).toHaveLength(2)
    const [build, runtime] = stages as [string, string]
    expect(build).toMatch(/^RUN npm ci$/m)
    const scripts = [...build.matchAll(/^RUN npm run (\S+)/gm)].map((m) => m[1]!)
    expect(scripts).toEqual(['build'])
    for (const script of scripts) expect(packageJson.scripts[script], script).toBeDefined()
    // `npm run build` compiles src/ into dist/: dist/main.js is src/main.ts.
    const buildConfig = JSON.parse(await readFile('tsconfig.build.json', 'utf8'))
    expect(buildConfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' })
    expect(existsSync('src/main.ts')).toBe(true)

    expect(runtime).toMatch(/^node:20[-\w.]*slim AS runtime/)
    expect(runtime).toMatch(/^RUN npm ci --omit=dev/m)
    expect(runtime).toContain('COPY --from=build /app/dist ./dist')
    for (const dir of ['proto', 'sql']) expect(runtime).toMatch(new RegExp(`^COPY ${dir} `, 'm'))
    expect(runtime).toMatch(/^USER (?!root\b)\w+/m)
    expect(runtime).toMatch(/^CMD \["node", "dist\/main\.js"\]/m)
    expect(deployment().spec.template.spec.securityContext.runAsNonRoot).toBe(true)
  })
})
