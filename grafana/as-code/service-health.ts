// The Service health dashboard as code, typed with Grafana's published schema
// (@grafana/schema): a misspelt option, a panel option of the wrong type or an unknown
// field fails the type check instead of being ignored by Grafana. `npm run dashboards` writes
// it to grafana/dashboards/service-health.json, which Grafana provisions; a test regenerates it
// and fails when the committed JSON differs.
//
// PromQL shared with the alerts comes from the recording rules in
// prometheus/rules/telemetry-store.rules.yml (job:telemetry_upload_*), so the panel and the
// alert read the same numbers.
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueJustifyMode,
  BigValueTextMode,
  LegendDisplayMode,
  PercentChangeColorMode,
  SortOrder,
  ThresholdsMode,
  TooltipDisplayMode,
  VariableRefresh,
  VariableSort,
  VisibilityMode,
  VizOrientation,
  type Dashboard,
  type DataSourceRef,
  type Panel,
  type ThresholdsConfig,
  type VariableModel,
} from '@grafana/schema'
import {
  HeatmapColorMode,
  HeatmapColorScale,
  type Options as HeatmapOptions,
} from '@grafana/schema/dist/esm/raw/composable/heatmap/panelcfg/x/HeatmapPanelCfg_types.gen.js'
import type { Options as StatOptions } from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen.js'
import type { Options as TableOptions } from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen.js'
import type { Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen.js'

const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: 'prometheus' }
const TIMESCALEDB: DataSourceRef = { type: 'grafana-postgresql-datasource', uid: 'timescaledb' }

const JOB = 'job="telemetry-store"'
/** The instance variable: "All" is `.*`. */
const INSTANCE = 'instance=~"$instance"'
const UPLOADS = 'http_route=~"/v1/samples|/samples", http_request_method="POST"'

type Target = {
  refId: string
  datasource: DataSourceRef
  expr?: string
  legendFormat?: string
  range?: boolean
  instant?: boolean
  format?: 'time_series' | 'table' | 'heatmap'
  editorMode?: 'code'
  rawQuery?: boolean
  rawSql?: string
}

/** A PromQL query drawn over time (instant: one value, for stats and tables). */
function promql(refId: string, expr: string, legendFormat: string, mode: 'range' | 'instant' = 'range'): Target {
  return { refId, datasource: PROMETHEUS, editorMode: 'code', expr, legendFormat, range: mode === 'range', instant: mode === 'instant' }
}

function sql(refId: string, rawSql: string): Target {
  return { refId, datasource: TIMESCALEDB, editorMode: 'code', rawQuery: true, format: 'table', rawSql }
}

interface PanelSpec<TOptions> {
  title: string
  description: string
  gridPos: { x: number; y: number; w: number; h: number }
  targets?: Target[]
  options: TOptions
  unit?: string
  thresholds?: ThresholdsConfig
  /** The panel's datasource; by default its first query's. `null`: the panel has none (alert list). */
  datasource?: DataSourceRef | null
  min?: number
  links?: Panel['links']
}

// Grafana Explore on the Tempo datasource, searching the upload server spans of the panel's range.
const UPLOAD_TRACES_URL = `/explore?schemaVersion=1&orgId=1&panes=${encodeURIComponent(
  JSON.stringify({
    traces: {
      datasource: 'tempo',
      queries: [
        {
          refId: 'A',
          datasource: { type: 'tempo', uid: 'tempo' },
          queryType: 'traceql',
          query: '{resource.service.name="telemetry-store" && kind=server && span.http.route=~"/v1/samples|/samples"}',
          limit: 50,
        },
      ],
      range: { from: '__FROM__', to: '__TO__' },
    },
  }),
).replace('__FROM__', '${__from}').replace('__TO__', '${__to}')}`

let nextId = 1
function panel<TOptions extends object>(type: string, spec: PanelSpec<TOptions>): Panel {
  const { title, description, gridPos, targets, options, unit, thresholds, datasource, min, links } = spec
  return {
    id: nextId++,
    type,
    title,
    description,
    ...(datasource !== null && { datasource: datasource ?? targets?.[0]?.datasource ?? PROMETHEUS }),
    gridPos,
    ...(targets && { targets }),
    fieldConfig: { defaults: { ...(unit && { unit }), ...(thresholds && { thresholds }), ...(min !== undefined && { min }) }, overrides: [] },
    options: options as Record<string, unknown>,
    ...(links && { links }),
  }
}

const legend = (calcs: string[] = []): TimeSeriesOptions['legend'] => ({
  showLegend: true,
  displayMode: calcs.length > 0 ? LegendDisplayMode.Table : LegendDisplayMode.List,
  placement: 'bottom',
  calcs,
})
const timeSeriesOptions = (calcs?: string[]): TimeSeriesOptions => ({
  legend: legend(calcs),
  tooltip: { mode: TooltipDisplayMode.Multi, sort: SortOrder.Descending },
})

function timeseries(spec: Omit<PanelSpec<TimeSeriesOptions>, 'options'> & { calcs?: string[] }): Panel {
  return panel<TimeSeriesOptions>('timeseries', { ...spec, options: timeSeriesOptions(spec.calcs) })
}

const statOptions = (colorMode: BigValueColorMode): StatOptions => ({
  reduceOptions: { calcs: ['lastNotNull'], values: false },
  orientation: VizOrientation.Auto,
  colorMode,
  graphMode: BigValueGraphMode.None,
  justifyMode: BigValueJustifyMode.Auto,
  textMode: BigValueTextMode.ValueAndName,
  wideLayout: true,
  showPercentChange: false,
  percentChangeColorMode: PercentChangeColorMode.Standard,
})

const tableOptions: TableOptions = { showHeader: true, frameIndex: 0, cellHeight: undefined }

// The buckets come from Prometheus already (calculate: false); empty buckets stay blank.
const heatmapOptions: HeatmapOptions = {
  calculate: false,
  cellGap: 1,
  color: { mode: HeatmapColorMode.Scheme, scheme: 'Oranges', fill: 'dark-orange', scale: HeatmapColorScale.Exponential, exponent: 0.5, steps: 64, reverse: false },
  exemplars: { color: 'rgba(255,0,255,0.7)' },
  filterValues: { le: 1e-9 },
  legend: { show: true },
  showValue: VisibilityMode.Never,
  tooltip: { mode: TooltipDisplayMode.Single, yHistogram: true },
  yAxis: { unit: 's' },
}

const instanceVariable: VariableModel = {
  name: 'instance',
  label: 'Instance',
  type: 'query',
  datasource: PROMETHEUS,
  query: { qryType: 1, query: `label_values(up{${JOB}}, instance)`, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
  refresh: VariableRefresh.onTimeRangeChanged,
  multi: true,
  includeAll: true,
  allValue: '.*',
  sort: VariableSort.alphabeticalAsc,
  current: { text: ['All'], value: ['$__all'] },
  options: [],
  // 0 = VariableHide.dontHide (label and value shown). In @grafana/schema 11.4 the package's
  // VariableHide is the veneer's enum, not the one that types VariableModel.hide (which it does
  // not export), and TypeScript does not mix two enums: the member's value is what it accepts.
  hide: 0,
}

const row = (y: number) => ({ y, h: 8 })

export function serviceHealthDashboard(): Dashboard {
  nextId = 1
  const panels: Panel[] = [
    panel<StatOptions>('stat', {
      title: 'Replicas up',
      description: 'Share of the scraped replicas that answer: green only when all of them do, red when none does or no target exists at all.',
      gridPos: { x: 0, y: 0, w: 4, h: 4 },
      targets: [promql('A', `(sum(up{${JOB}}) or vector(0)) / (count(up{${JOB}}) or vector(1))`, 'replicas up', 'instant')],
      unit: 'percentunit',
      thresholds: {
        mode: ThresholdsMode.Absolute,
        steps: [
          { color: 'red', value: null },
          { color: 'orange', value: 0.01 },
          { color: 'green', value: 1 },
        ],
      },
      options: statOptions(BigValueColorMode.Background),
    }),
    panel<StatOptions>('stat', {
      title: 'Replicas up of expected',
      description: 'Replicas that answer Prometheus, next to the replicas Prometheus expects (its targets).',
      gridPos: { x: 0, y: 4, w: 4, h: 4 },
      targets: [promql('A', `sum(up{${JOB}}) or vector(0)`, 'up', 'instant'), promql('B', `count(up{${JOB}}) or vector(0)`, 'expected', 'instant')],
      options: statOptions(BigValueColorMode.None),
    }),
    panel('alertlist', {
      title: 'Alerts',
      description: 'Alerts firing or pending, Grafana-managed (Device silent) and Prometheus (through the alerting of the Prometheus datasource).',
      gridPos: { x: 4, y: 0, w: 10, h: 8 },
      datasource: null,
      // Grafana's alert list (unified alerting) options: all rule sources, firing and pending.
      options: {
        viewMode: 'list',
        groupMode: 'default',
        groupBy: [],
        maxItems: 20,
        sortOrder: 1,
        dashboardAlerts: false,
        alertName: '',
        alertInstanceLabelFilter: '',
        showInstances: true,
        stateFilter: { firing: true, pending: true, noData: true, normal: false, error: true },
      },
    }),
    panel<TableOptions>('table', {
      title: 'Firing alerts',
      description: 'Prometheus alerts firing now, with their severity; each has a runbook (docs/operations.md#runbook-<alert>).',
      gridPos: { x: 14, y: 0, w: 10, h: 8 },
      targets: [promql('A', 'sum by (alertname, severity) (ALERTS{alertstate="firing", alertname!="Watchdog"})', '{{alertname}}', 'instant')],
      options: tableOptions,
    }),

    timeseries({
      title: 'Request rate',
      description: 'HTTP requests per second by route and status, on the selected instances.',
      gridPos: { x: 0, ...row(8), w: 12 },
      targets: [promql('A', `sum by (http_route, http_response_status_code) (rate(http_server_request_duration_seconds_count{${JOB}, ${INSTANCE}}[$__rate_interval]))`, '{{http_route}} {{http_response_status_code}}')],
      unit: 'reqps',
    }),
    timeseries({
      title: 'Upload error ratio',
      description: 'Share of uploads answered 5xx (health probes and 4xx are not part of it), over 5 minutes and 1 hour, against the 0.5 % error budget of the 99.5 % SLO. The same recording rules drive HighErrorRatio and ErrorBudgetBurn.',
      gridPos: { x: 12, ...row(8), w: 12 },
      targets: [
        promql('A', 'job:telemetry_upload_errors:ratio_rate5m{job="telemetry-store"}', '5 min'),
        promql('B', 'job:telemetry_upload_errors:ratio_rate1h{job="telemetry-store"}', '1 h'),
        promql('C', 'job:telemetry_upload_requests:rate5m{job="telemetry-store"} * 0 + 0.005', 'error budget (0.5 %)'),
      ],
      unit: 'percentunit',
      min: 0,
    }),

    timeseries({
      title: 'Upload latency',
      description: 'p50, p95 and p99 of POST /v1/samples over 5 minutes, all instances (the recording rule SlowUploads reads). The panel link opens the traces of uploads in the same time range (the Prometheus exporter writes no exemplars).',
      links: [{ title: 'Upload traces in this time range (Tempo)', url: UPLOAD_TRACES_URL, type: 'link', icon: 'external link', tooltip: '', tags: [], asDropdown: false, includeVars: false, keepTime: false, targetBlank: false }],
      gridPos: { x: 0, ...row(16), w: 12 },
      targets: [0.5, 0.95, 0.99].map((q, index) =>
        promql(String.fromCharCode(65 + index), `histogram_quantile(${q}, job_le:telemetry_upload_duration_seconds_bucket:rate5m{job="telemetry-store"})`, `p${Math.round(q * 100)}`),
      ),
      unit: 's',
    }),
    panel<HeatmapOptions>('heatmap', {
      title: 'Upload latency heatmap',
      description: 'How many uploads took how long, per duration bucket, on the selected instances: a second mode (large bodies, a slow database) shows as its own band.',
      gridPos: { x: 12, ...row(16), w: 12 },
      targets: [{ ...promql('A', `sum by (le) (increase(http_server_request_duration_seconds_bucket{${JOB}, ${INSTANCE}, ${UPLOADS}}[$__rate_interval]))`, '{{le}}'), format: 'heatmap' }],
      options: heatmapOptions,
    }),

    timeseries({
      title: 'Samples per second by kind',
      description: 'Samples stored per second by kind, and samples that were already stored (retried uploads).',
      gridPos: { x: 0, ...row(24), w: 12 },
      targets: [
        promql('A', `sum by (kind) (rate(telemetry_samples_stored_total{${JOB}, ${INSTANCE}}[$__rate_interval]))`, 'stored {{kind}}'),
        promql('B', `sum by (kind) (rate(telemetry_samples_duplicate_total{${JOB}, ${INSTANCE}}[$__rate_interval]))`, 'duplicate {{kind}}'),
      ],
      unit: 'short',
    }),
    timeseries({
      title: 'Rejected uploads by reason',
      description: 'Refused uploads per second, by the error code the client was answered with.',
      gridPos: { x: 12, ...row(24), w: 12 },
      targets: [promql('A', `sum by (reason) (rate(telemetry_uploads_rejected_total{${JOB}, ${INSTANCE}}[$__rate_interval]))`, '{{reason}}')],
      unit: 'reqps',
    }),

    timeseries({
      title: 'Upload size',
      description: 'Body size of accepted uploads (p50, p99) and samples per upload (mean).',
      gridPos: { x: 0, ...row(32), w: 12 },
      targets: [
        promql('A', `histogram_quantile(0.5, sum by (le) (rate(telemetry_upload_size_bytes_bucket{${JOB}, ${INSTANCE}}[$__rate_interval])))`, 'p50 bytes'),
        promql('B', `histogram_quantile(0.99, sum by (le) (rate(telemetry_upload_size_bytes_bucket{${JOB}, ${INSTANCE}}[$__rate_interval])))`, 'p99 bytes'),
        promql('C', `sum(rate(telemetry_upload_samples_sum{${JOB}, ${INSTANCE}}[$__rate_interval])) / sum(rate(telemetry_upload_samples_count{${JOB}, ${INSTANCE}}[$__rate_interval]))`, 'samples per upload'),
      ],
      unit: 'bytes',
    }),
    timeseries({
      title: 'Connection pool',
      description: 'Per instance: connections in use, the pool size, uploads waiting for a connection, and uploads in flight. In use at the pool size with uploads waiting means the pool is the bottleneck.',
      gridPos: { x: 12, ...row(32), w: 12 },
      targets: [
        promql('A', `sum by (instance) (db_client_connections_usage{${JOB}, ${INSTANCE}, db_client_connection_state="used"})`, 'in use {{instance}}'),
        promql('B', `sum by (instance) (db_client_connection_max{${JOB}, ${INSTANCE}})`, 'pool size {{instance}}'),
        promql('C', `sum by (instance) (db_client_connection_pending_requests{${JOB}, ${INSTANCE}})`, 'waiting {{instance}}'),
        promql('D', `sum by (instance) (telemetry_uploads_in_flight{${JOB}, ${INSTANCE}})`, 'uploads in flight {{instance}}'),
      ],
      unit: 'short',
      min: 0,
    }),

    timeseries({
      title: 'DB write latency and errors',
      description: 'Duration of the transaction that writes one upload (p50, p99), and failed transactions per second.',
      gridPos: { x: 0, ...row(40), w: 12 },
      targets: [
        promql('A', `histogram_quantile(0.5, sum by (le) (rate(db_client_operation_duration_seconds_bucket{${JOB}, ${INSTANCE}}[$__rate_interval])))`, 'p50'),
        promql('B', `histogram_quantile(0.99, sum by (le) (rate(db_client_operation_duration_seconds_bucket{${JOB}, ${INSTANCE}}[$__rate_interval])))`, 'p99'),
        promql('C', `sum(rate(telemetry_db_write_errors_total{${JOB}, ${INSTANCE}}[$__rate_interval]))`, 'errors per second'),
      ],
      unit: 's',
    }),
    timeseries({
      title: 'TimescaleDB job runs and failures',
      description: 'Runs and failures of compression, retention and continuous-aggregate refresh jobs, by procedure. Failures alert as TimescaleJobFailures.',
      gridPos: { x: 12, ...row(40), w: 12 },
      targets: [
        promql('A', `sum by (proc_name) (increase(timescaledb_job_runs_total{${JOB}}[$__rate_interval]))`, 'runs {{proc_name}}'),
        promql('B', `sum by (proc_name) (increase(timescaledb_job_failures_total{${JOB}}[$__rate_interval]))`, 'failures {{proc_name}}'),
      ],
      unit: 'short',
      min: 0,
    }),

    panel<TableOptions>('table', {
      title: 'Compression',
      description: 'Per hypertable: chunks, compressed chunks and bytes before and after compression (hypertable_compression_stats).',
      gridPos: { x: 0, ...row(48), w: 12 },
      targets: [
        sql(
          'A',
          `SELECT h.hypertable_name AS hypertable,
       coalesce(s.total_chunks, 0) AS chunks,
       coalesce(s.number_compressed_chunks, 0) AS compressed_chunks,
       s.before_compression_total_bytes AS bytes_before,
       s.after_compression_total_bytes AS bytes_after
FROM timescaledb_information.hypertables h
LEFT JOIN LATERAL hypertable_compression_stats(format('%I.%I', h.hypertable_schema, h.hypertable_name)::regclass) s ON true
WHERE h.hypertable_schema = 'public'
ORDER BY h.hypertable_name`,
        ),
      ],
      unit: 'bytes',
      options: tableOptions,
    }),
    panel<TableOptions>('table', {
      title: 'Hypertable sizes',
      description: 'Disk used by each hypertable, its indexes and TOAST, all chunks together (hypertable_detailed_size).',
      gridPos: { x: 12, ...row(48), w: 12 },
      targets: [
        sql(
          'A',
          `SELECT h.hypertable_name AS hypertable, d.table_bytes, d.index_bytes, d.toast_bytes, d.total_bytes
FROM timescaledb_information.hypertables h
CROSS JOIN LATERAL hypertable_detailed_size(format('%I.%I', h.hypertable_schema, h.hypertable_name)::regclass) d
ORDER BY d.total_bytes DESC`,
        ),
      ],
      unit: 'bytes',
      options: tableOptions,
    }),

    timeseries({
      title: 'Event loop delay',
      description: 'p50 and p99 of the event loop delay per instance: every request waits this long before it runs.',
      gridPos: { x: 0, ...row(56), w: 12 },
      targets: [
        promql('A', `max by (instance) (nodejs_eventloop_delay_p50_seconds{${JOB}, ${INSTANCE}})`, 'p50 {{instance}}'),
        promql('B', `max by (instance) (nodejs_eventloop_delay_p99_seconds{${JOB}, ${INSTANCE}})`, 'p99 {{instance}}'),
      ],
      unit: 's',
    }),
    timeseries({
      title: 'Memory',
      description: 'Resident set size and V8 heap used per instance.',
      gridPos: { x: 12, ...row(56), w: 12 },
      targets: [
        promql('A', `sum by (instance) (process_memory_usage_bytes{${JOB}, ${INSTANCE}})`, 'resident {{instance}}'),
        promql('B', `sum by (instance) (v8js_memory_heap_used_bytes{${JOB}, ${INSTANCE}})`, 'heap used {{instance}}'),
      ],
      unit: 'bytes',
    }),
  ]

  return {
    uid: 'telemetry-service-health',
    title: 'Service health',
    description: 'The telemetry store service: replicas, alerts, requests, the upload SLO, latency, ingestion, database and runtime.',
    tags: ['telemetry-store'],
    timezone: 'browser',
    editable: false,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    templating: { list: [instanceVariable] },
    annotations: { list: [] },
    links: [],
    panels,
  }
}
