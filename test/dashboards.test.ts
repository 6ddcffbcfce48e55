// Every SQL query of the provisioned dashboards (and of the Grafana-managed alert rule), run
// the way Grafana would run it: template variables and macros expanded by
// tools/bench/grafana-macros.ts, sent to the service's real embedded TimescaleDB after real
// uploads. A query that does not parse, names a column that does not exist or returns nothing
// for data that is there fails here instead of on an operator's screen.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { defaultDashboard } from '@grafana/schema'
import Long from 'long'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { dashboardFiles } from '../grafana/as-code/dashboards.ts'
import { encodeBody } from '../src/client/encode.ts'
import { addDevice } from '../src/db/devices.ts'
import { AccelerationType, ActivityType, LocationType, SampleType, TYPE_URL_PREFIX } from '../src/codec/proto.ts'
import { expandSql, type QueryContext, type TemplateValue } from '../tools/bench/grafana-macros.ts'
import { PROJECT_DIR, startService, type RunningService } from './support/service.ts'

interface Target {
  refId: string
  datasource?: { uid: string }
  rawSql?: string
  expr?: string
  format?: 'time_series' | 'table'
  /** With the "-- Dashboard --" datasource: the panel whose results this one shows. */
  panelId?: number
}
interface Panel {
  id: number
  title: string
  type: string
  datasource?: { uid: string }
  targets?: Target[]
  panels?: Panel[]
}
interface Variable {
  name: string
  type: string
  datasource?: { uid: string }
  query: string
  multi?: boolean
  includeAll?: boolean
}
interface Dashboard {
  uid: string
  title: string
  schemaVersion: number
  panels: Panel[]
  templating: { list: Variable[] }
}

const DASHBOARD_DIR = 'grafana/dashboards'
const SQL_DATASOURCE = 'timescaledb'

async function loadDashboards(): Promise<Dashboard[]> {
  const files = (await readdir(DASHBOARD_DIR)).filter((name) => name.endsWith('.json'))
  return Promise.all(files.map(async (name) => JSON.parse(await readFile(`${DASHBOARD_DIR}/${name}`, 'utf8')) as Dashboard))
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])])
}

function sqlTargets(dashboard: Dashboard): { panel: Panel; target: Target }[] {
  return allPanels(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((target) => (target.datasource ?? panel.datasource)?.uid === SQL_DATASOURCE)
      .map((target) => ({ panel, target })),
  )
}

/** The columns each panel type needs from its SQL to draw anything. */
function expectedColumns(panel: Panel, target: Target): string[] {
  if (panel.type === 'geomap') return ['time', 'device', 'latitude', 'longitude', 'device_colour']
  if (target.format === 'time_series' || panel.type === 'timeseries' || panel.type === 'state-timeline') return ['time']
  return []
}

// --- the data: ten minutes of every kind for the service's `local` device -------------------

const NOW_S = Math.floor(Date.now() / 1000)
// The start of the previous hour: the ten minutes then fall in one hour (and one day) bucket.
const START_S = Math.floor(NOW_S / 3600) * 3600 - 3600

function sample(id: number, seconds: number, typeName: string, value: Uint8Array, nanos = 0): Uint8Array {
  return SampleType.encode({
    id: Long.fromNumber(id),
    data: { type_url: TYPE_URL_PREFIX + typeName, value },
    timestamp: { seconds, nanos },
  }).finish()
}

function uploadBody(): { body: Uint8Array; counts: Record<string, number> } {
  const records: Uint8Array[] = []
  let id = 1
  for (let i = 0; i < 20; i++) {
    const position = LocationType.encode({ latitude: 48.85 + i * 0.001, longitude: 2.35 + i * 0.001 }).finish()
    records.push(sample(id++, START_S + i * 30, 'Location', position))
  }
  const states = [{ stationary: true }, { walking: true }, { running: true, walking: true }, {}]
  for (let i = 0; i < 40; i++) {
    records.push(sample(id++, START_S + i * 15, 'Activity', ActivityType.encode(states[Math.floor(i / 10)]!).finish()))
  }
  // 10 s at 50 Hz per minute of the window: 500 acceleration samples in 10 separate seconds.
  for (let i = 0; i < 500; i++) {
    const second = START_S + Math.floor(i / 50) * 60
    const g = AccelerationType.encode({ x: 0.01 * (i % 7), y: -0.02, z: 1 + 0.001 * i }).finish()
    records.push(sample(id++, second, 'Acceleration', g, (i % 50) * 20_000_000))
  }
  // A kind the service does not know: stored raw in other_samples.
  records.push(sample(id++, START_S + 5, 'BatteryLevel', new Uint8Array([0x0d, 0, 0, 0x40, 0x3f])))
  return { body: encodeBody('delimited', records), counts: { location: 20, activity: 40, acceleration: 500, other: 1 } }
}

/** A second device, so the map has two colours and two tracks: ten positions along a line. */
const SECOND_DEVICE = 'second-phone'
function secondDeviceBody(): Uint8Array {
  const records = Array.from({ length: 10 }, (_, i) =>
    sample(i + 1, START_S + i * 60, 'Location', LocationType.encode({ latitude: 52.5 + i * 0.01, longitude: 13.4 }).finish()),
  )
  return encodeBody('delimited', records)
}

async function uploadAs(token: string, body: Uint8Array): Promise<Response> {
  return fetch(`${service.baseUrl}/v1/samples`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-protobuf; delimited=true' },
    body,
  })
}

/** By name, as the map numbers them: `local` (the service's own device) is device_number 1. */
const DEVICES_WITH_LOCATIONS = ['local', SECOND_DEVICE]

/** The device a track layer's query selects (`WHERE device_number = n`), or undefined. */
function trackNumber(target: Target): number | undefined {
  const match = /\nWHERE device_number = (\d+)\n/.exec(target.rawSql ?? '')
  return match ? Number(match[1]) : undefined
}

let service: RunningService
let db: pg.Client
let dashboards: Dashboard[]

beforeAll(async () => {
  service = await startService()
  const { body, counts } = uploadBody()
  const response = await uploadAs(service.token, body)
  expect(response.status, await response.clone().text()).toBe(200)
  expect(((await response.json()) as { byKind: Record<string, number> }).byKind).toEqual(counts)
  db = new pg.Client(service.databaseUrl)
  await db.connect()
  const second = await uploadAs((await addDevice(db, SECOND_DEVICE)).token, secondDeviceBody())
  expect(second.status, await second.clone().text()).toBe(200)
  // The job runner may have materialized the first upload's minutes and hours before the
  // second came: TimescaleDB shows rows that land below a view's watermark at its next refresh
  // (the policies run every 2-5 minutes, docs/sql-and-time-series.md), the hourly views after
  // the minute views they are built on. Refreshed here as the policies would, in that order.
  const views = await db.query<{ view: string }>(
    "select format('%I.%I', view_schema, view_name) as view from timescaledb_information.continuous_aggregates order by view_name like '%per_minute' desc",
  )
  for (const { view } of views.rows) await db.query(`call refresh_continuous_aggregate('${view}', null, null)`)
  dashboards = await loadDashboards()
}, 120_000)

afterAll(async () => {
  await db?.end()
  await service?.stop()
})

/** Runs each SQL template variable's query and selects what Grafana selects by default. */
async function variableValues(dashboard: Dashboard): Promise<Record<string, TemplateValue>> {
  const values: Record<string, TemplateValue> = {}
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query' || variable.datasource?.uid !== SQL_DATASOURCE) continue
    const { rows } = await db.query<{ __value: unknown; __text: unknown }>(variable.query)
    expect(rows.length, `variable ${variable.name} lists nothing`).toBeGreaterThan(0)
    expect(Object.keys(rows[0]!), `variable ${variable.name}`).toEqual(['__value', '__text'])
    values[variable.name] = { values: rows.map((row) => String(row.__value)), multi: Boolean(variable.multi || variable.includeAll) }
  }
  return values
}

// Grafana picks $__interval from the range and the panel width: a short one (more buckets
// than rows in places) and a long one (everything in one or two buckets) both must work.
const INTERVALS_MS = [1_000, 60_000, 3_600_000]
const range = () => ({ from: new Date((START_S - 3600) * 1000), to: new Date((NOW_S + 60) * 1000) })

describe('Grafana dashboards', () => {
  it('are provisioned with stable uids and use only the provisioned datasources', async () => {
    expect(dashboards.map((d) => [d.uid, d.title]).sort()).toEqual([
      ['telemetry-samples', 'Samples'],
      ['telemetry-service-health', 'Service health'],
    ])
    const provisioned = parse(await readFile('grafana/provisioning/datasources/datasources.yml', 'utf8')) as {
      datasources: { uid: string; type: string; jsonData?: { timescaledb?: boolean } }[]
    }
    const uids = provisioned.datasources.map((source) => source.uid)
    expect(uids.sort()).toEqual(['prometheus', 'tempo', 'timescaledb'])
    expect(provisioned.datasources.find((source) => source.uid === 'timescaledb')?.jsonData?.timescaledb).toBe(true)
    for (const dashboard of dashboards) {
      const panels = allPanels(dashboard.panels)
      for (const panel of panels) {
        for (const target of panel.targets ?? []) {
          const uid = (target.datasource ?? panel.datasource)?.uid
          // Grafana's built-in "-- Dashboard --" source shows another panel's query results.
          if (uid === '-- Dashboard --') expect(panels.map((other) => other.id), `${dashboard.title} / ${panel.title}`).toContain(target.panelId)
          else expect(uids, `${dashboard.title} / ${panel.title}`).toContain(uid)
        }
        // Links into Explore (the latency panel's link to its traces) name provisioned datasources too.
        for (const link of (panel as { links?: { url: string }[] }).links ?? []) {
          const panes = new URL(link.url, 'http://grafana').searchParams.get('panes')
          if (!panes) continue
          const parsed = JSON.parse(panes.replace(/\$\{__(from|to)\}/g, '0')) as Record<string, { datasource: string }>
          for (const pane of Object.values(parsed)) expect(uids, `${dashboard.title} / ${panel.title} link`).toContain(pane.datasource)
        }
      }
    }
  })

  it('committed as the JSON their code generates (npm run dashboards)', async () => {
    for (const { path: file, json } of dashboardFiles()) {
      expect(await readFile(file, 'utf8'), `${file} is stale: run npm run dashboards`).toBe(json)
    }
  })

  it('are typed with the @grafana/schema release of the Grafana that compose runs', async () => {
    // A schema from another release would accept fields this Grafana does not know, or reject
    // ones it does: the package is pinned to the image's version, exactly.
    const image = parse(await readFile('docker-compose.yml', 'utf8')).services.grafana.image as string
    const grafanaVersion = /^grafana\/grafana:(\d+\.\d+\.\d+)$/.exec(image)?.[1]
    expect(grafanaVersion, image).toBeDefined()
    const projectPackage = JSON.parse(await readFile('package.json', 'utf8'))
    expect(projectPackage.devDependencies['@grafana/schema']).toBe(grafanaVersion)
    const installed = JSON.parse(await readFile('node_modules/@grafana/schema/package.json', 'utf8'))
    expect(installed.version, 'run npm ci').toBe(grafanaVersion)
    // The dashboards' schemaVersion is that release's schema default (defaultDashboard).
    for (const dashboard of dashboards) expect(dashboard.schemaVersion, dashboard.title).toBe(defaultDashboard.schemaVersion)
  })

  it('match Grafana’s published dashboard schema (@grafana/schema), field by field', async () => {
    // Each JSON file becomes an object literal typed with the schema, which tsc checks: an
    // unknown field, a wrong type or a value outside an enum is an error.
    const dir = await mkdtemp(path.join(PROJECT_DIR, 'test', 'schema-check-'))
    try {
      const files: string[] = []
      for (const name of (await readdir(DASHBOARD_DIR)).filter((file) => file.endsWith('.json'))) {
        const file = path.join(dir, `${name}.ts`)
        const json = await readFile(`${DASHBOARD_DIR}/${name}`, 'utf8')
        await writeFile(file, `import type { DashboardJson } from '../support/dashboard-schema.ts'\nexport const dashboard: DashboardJson = ${json}`)
        files.push(file)
        // A dashboard's panel options are free-form in its schema: each geomap's are checked
        // against the geomap plugin's own.
        const maps = allPanels((JSON.parse(json) as Dashboard).panels).filter((panel) => panel.type === 'geomap')
        if (maps.length === 0) continue
        const mapFile = path.join(dir, `${name}.geomap.ts`)
        const options = maps.map((panel) => `export const panel${panel.id}: GeomapOptionsJson = ${JSON.stringify((panel as { options?: unknown }).options)}`)
        await writeFile(mapFile, `import type { GeomapOptionsJson } from '../support/dashboard-schema.ts'\n${options.join('\n')}\n`)
        files.push(mapFile)
      }
      expect(files).toHaveLength(3) // two dashboards and the samples dashboard's maps
      const tsc = path.join(PROJECT_DIR, 'node_modules', '.bin', 'tsc')
      const flags = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--allowImportingTsExtensions']
      const result = await promisify(execFile)(tsc, [...flags, ...files]).then(
        () => '',
        (error: { stdout: string }) => error.stdout,
      )
      expect(result).toBe('')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('filter every SQL query by the time range and bucket it by $__interval', () => {
    const samples = dashboards.find((d) => d.uid === 'telemetry-samples')!
    const targets = sqlTargets(samples)
    expect(targets.length).toBeGreaterThanOrEqual(5)
    for (const { panel, target } of targets) {
      // The time range: as a filter on a time column, or as the bounds of places().
      expect(target.rawSql, panel.title).toMatch(/\$__timeFilter\(|\$__timeFrom\(\)/)
      // Time series are bucketed by Grafana's interval (never finer than an aggregate's minute).
      if (!target.rawSql!.includes('places(')) expect(target.rawSql, panel.title).toMatch(/time_bucket\((greatest\()?'\$__interval'/)
      expect(target.rawSql, panel.title).toMatch(/(device_id|d\.id) IN \(\$device\)/)
    }
  })

  it('run every SQL query against TimescaleDB and get the columns the panel draws', async () => {
    let ran = 0
    for (const dashboard of dashboards) {
      const variables = await variableValues(dashboard)
      for (const { panel, target } of sqlTargets(dashboard)) {
        for (const intervalMs of INTERVALS_MS) {
          const context: QueryContext = { range: range(), intervalMs, variables }
          const sql = expandSql(target.rawSql!, context)
          expect(sql, panel.title).not.toMatch(/\$\w/)
          const result = await db.query(sql).catch((error: Error) => {
            throw new Error(`${dashboard.title} / ${panel.title} (${intervalMs} ms): ${error.message}\n${sql}`)
          })
          const where = `${dashboard.title} / ${panel.title} ${target.refId} (${intervalMs} ms)`
          // A track layer's query for a device number beyond the devices on the map (two here)
          // returns nothing, and that layer draws nothing.
          const track = trackNumber(target)
          if (track !== undefined && track > DEVICES_WITH_LOCATIONS.length) expect(result.rows, where).toEqual([])
          else expect(result.rows.length, where).toBeGreaterThan(0)
          const columns = result.fields.map((field) => field.name)
          for (const column of expectedColumns(panel, target)) expect(columns, where).toContain(column)
          ran++
        }
      }
    }
    expect(ran).toBeGreaterThanOrEqual(5 * INTERVALS_MS.length)
  })

  it('count the uploaded samples per kind exactly', async () => {
    const samples = dashboards.find((d) => d.uid === 'telemetry-samples')!
    const perMinute = sqlTargets(samples).find(({ panel }) => panel.title === 'Samples per minute by kind')!
    // Day buckets: samples per minute × 1440 = samples in the bucket.
    const sql = expandSql(perMinute.target.rawSql!, { range: range(), intervalMs: 86_400_000, variables: await variableValues(samples) })
    const { rows } = await db.query<{ metric: string; samples_per_minute: number }>(sql)
    const total: Record<string, number> = {}
    for (const row of rows) total[row.metric] = (total[row.metric] ?? 0) + Number(row.samples_per_minute) * 1440
    expect(Object.fromEntries(Object.entries(total).map(([kind, count]) => [kind, Math.round(count)]))).toEqual(
      { location: 30, activity: 40, acceleration: 500, other: 1 },
    )
  })

  it('draw the device on the map where it was, and its activity and acceleration', async () => {
    const samples = dashboards.find((d) => d.uid === 'telemetry-samples')!
    const variables = await variableValues(samples)
    const run = async (title: string) => {
      const { target } = sqlTargets(samples).find(({ panel }) => panel.title.startsWith(title))!
      return (await db.query(expandSql(target.rawSql!, { range: range(), intervalMs: 3_600_000, variables }))).rows
    }
    const [location] = await run('Locations')
    expect(location).toMatchObject({ device: 'local', samples: '20' })
    expect(location.latitude).toBeCloseTo(48.85 + 19 * 0.001, 9)
    expect(location.longitude).toBeCloseTo(2.35 + 19 * 0.001, 9)
    // 10 samples per state: the state timeline's code for the bucket is one of the five.
    const [activity] = await run('Activity')
    expect([0, 1, 2, 3, 4]).toContain(activity.activity)
    const [acceleration] = await run('Acceleration')
    expect(acceleration.magnitude).toBeGreaterThan(1)
    expect(acceleration.magnitude_min).toBeLessThanOrEqual(acceleration.magnitude)
    expect(acceleration.magnitude_max).toBeGreaterThanOrEqual(acceleration.magnitude)
  })

  it('give each device on the maps a colour of its own and a track, as Grafana’s geomap draws them', async () => {
    // How Grafana 11.4's geomap draws (docs/operations.md, "The samples map", names the source
    // files): the markers and route layers draw the first data frame they are given, a route
    // joins that frame's rows into one line, a layer's filterData picks frames by query refId,
    // and a colour comes per row from a field only through a by-value scheme (thresholds), never
    // from a palette (a palette gives the whole field one colour: what the map did before).
    type Style = { color?: { field?: string }; size?: unknown }
    type Layer = { type: string; name: string; filterData?: { id: string; options: string }; location: unknown; config: { style: Style } }
    type Override = { matcher: { id: string; options: string }; properties: { id: string; value: any }[] }
    type MapPanel = Panel & { fieldConfig: { defaults: { color?: unknown }; overrides: Override[] }; options: { layers: Layer[] } }
    const samples = dashboards.find((d) => d.uid === 'telemetry-samples')!
    const maps = allPanels(samples.panels).filter((panel) => panel.type === 'geomap') as MapPanel[]
    expect(maps.map((panel) => panel.title)).toEqual(['Locations', 'Top places on the map'])
    const [locations, places] = maps as [MapPanel, MapPanel]

    // Colour: every layer of both maps by device_colour, which a thresholds scheme turns into
    // one palette colour per value, as many colours as the SQL's modulus numbers devices.
    const colours = (panel: MapPanel) => {
      expect(panel.fieldConfig.defaults.color, panel.title).toBeUndefined()
      const override = panel.fieldConfig.overrides.find((o) => o.matcher.id === 'byName' && o.matcher.options === 'device_colour')!
      expect(override.properties.find((p) => p.id === 'color')!.value, panel.title).toEqual({ mode: 'thresholds' })
      const steps = override.properties.find((p) => p.id === 'thresholds')!.value.steps as { color: string; value: number | null }[]
      expect(steps.map((step) => step.value), panel.title).toEqual(steps.map((_, i) => (i === 0 ? null : i)))
      for (const layer of panel.options.layers) expect(layer.config.style.color?.field, `${panel.title} / ${layer.name}`).toBe('device_colour')
      return steps.map((step) => step.color)
    }
    const palette = colours(locations)
    expect(new Set(palette).size).toBe(palette.length)
    expect(colours(places)).toEqual(palette)

    // Tracks: one route layer per track query, each the markers query narrowed to one device
    // number and ordered by time; the markers layer reads the markers query.
    const [markers, ...tracks] = locations.targets! as [Target, ...Target[]]
    expect(markers.rawSql).toContain(`% ${palette.length})::int AS device_colour`)
    expect(tracks.length).toBeGreaterThanOrEqual(DEVICES_WITH_LOCATIONS.length)
    expect(locations.options.layers.map((layer) => [layer.type, layer.filterData])).toEqual([
      ...tracks.map((track) => ['route', { id: 'byRefId', options: track.refId }]),
      ['markers', { id: 'byRefId', options: markers.refId }],
    ])
    tracks.forEach((track, i) => {
      expect(track.rawSql, track.refId).toBe(markers.rawSql!.replace(/\nORDER BY device, time$/, `\nWHERE device_number = ${i + 1}\nORDER BY time`))
    })

    // And the data: per device its own colour, per track one device in time order.
    const variables = await variableValues(samples)
    const run = async (target: Target) =>
      (await db.query(expandSql(target.rawSql!, { range: range(), intervalMs: 60_000, variables }))).rows as {
        time: Date; device: string; latitude: number; longitude: number; device_colour: number
      }[]
    const colourOf = (rows: { device: string; device_colour: number }[]) => Object.fromEntries(rows.map((row) => [row.device, row.device_colour]))
    const positions = await run(markers)
    expect(colourOf(positions)).toEqual({ local: 0, [SECOND_DEVICE]: 1 })
    for (const [i, device] of DEVICES_WITH_LOCATIONS.entries()) {
      const track = await run(tracks[i]!)
      expect(new Set(track.map((row) => row.device)), tracks[i]!.refId).toEqual(new Set([device]))
      const times = track.map((row) => row.time.getTime())
      expect(times, device).toEqual([...times].sort((a, b) => a - b))
      expect(track.length, device).toBe(10) // ten one-minute buckets each
    }
    const secondTrack = await run(tracks[1]!)
    expect(secondTrack.map((row) => row.latitude)).toEqual(secondTrack.map((_, i) => expect.closeTo(52.5 + i * 0.01, 9)))

    // Top places: the table's query numbers devices the same way, so a device keeps its colour.
    const placesTable = allPanels(samples.panels).find((panel) => panel.id === (places.targets![0]! as Target).panelId)!
    const placeRows = await run(placesTable.targets![0]!)
    expect(colourOf(placeRows)).toEqual(colourOf(positions))
  })

  it('the Grafana-managed "Device silent" alert query runs and lists the device', async () => {
    const provisioning = parse(await readFile('grafana/provisioning/alerting/device-silent.yml', 'utf8')) as {
      groups: { rules: { title: string; data: { datasourceUid: string; relativeTimeRange?: { from: number }; model: { rawSql?: string } }[] }[] }[]
    }
    const rule = provisioning.groups.flatMap((group) => group.rules).find((r) => r.title === 'Device silent')!
    const query = rule.data.find((step) => step.datasourceUid === SQL_DATASOURCE)!
    const to = new Date()
    const from = new Date(to.getTime() - query.relativeTimeRange!.from * 1000)
    const { rows } = await db.query<{ device: string; hours_silent: number }>(expandSql(query.model.rawSql!, { range: { from, to }, intervalMs: 60_000 }))
    expect(rows.map((row) => row.device).sort()).toEqual(DEVICES_WITH_LOCATIONS)
    // The newest samples are one to two hours old: not silent for 6 hours yet.
    for (const row of rows) {
      expect(Number(row.hours_silent), row.device).toBeGreaterThan(0.8)
      expect(Number(row.hours_silent), row.device).toBeLessThan(2)
    }
  })
})
