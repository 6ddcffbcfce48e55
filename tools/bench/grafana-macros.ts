// Grafana's query interpolation, reproduced so that dashboard queries can run where Grafana
// cannot: first the frontend replaces template variables ($device, ${device:csv}, [[device]])
// and the built-in interval/range variables, then the PostgreSQL datasource's backend expands
// its macros ($__timeFilter(col), $__timeGroup(col, interval), ...). Both steps follow
// Grafana's own code (SqlDatasource.interpolateVariable, templateSrv's variable regex,
// pkg/tsdb/grafana-postgresql-datasource/macros.go, rangeutil.secondsToHms); a macro
// Grafana does not know is an error here as it is there.

export interface TimeRange {
  from: Date
  to: Date
}

/** A dashboard template variable as the query sees it: its selected values. */
export interface TemplateValue {
  values: string[]
  /** multi or includeAll: Grafana then quotes each value and joins them with commas (SQL). */
  multi: boolean
}

export interface QueryContext {
  range: TimeRange
  /** What Grafana chose for $__interval (from the range and the panel's width). */
  intervalMs: number
  variables?: Record<string, TemplateValue>
}

/** Grafana's rangeutil.secondsToHms: the largest whole unit only (90 s -> "1m"). */
export function intervalText(intervalMs: number): string {
  const seconds = intervalMs / 1000
  const units: [number, string][] = [
    [31_536_000, 'y'],
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'm'],
    [1, 's'],
  ]
  let rest = seconds
  for (const [size, unit] of units) {
    const whole = Math.floor(rest / size)
    if (whole > 0) return `${whole}${unit}`
    rest %= size
  }
  const ms = Math.floor(intervalMs % 1000)
  if (ms > 0) return `${ms}ms`
  throw new Error(`interval ${intervalMs} ms is less than a millisecond`)
}

// templateSrv's variableRegex: $name, [[name(:format)]], ${name(.field)(:format)}.
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g

function builtinVariables(context: QueryContext, extra: Record<string, string>): Record<string, string> {
  const { from, to } = context.range
  const rangeMs = to.getTime() - from.getTime()
  return {
    __interval: intervalText(context.intervalMs),
    __interval_ms: String(context.intervalMs),
    __from: String(from.getTime()),
    __to: String(to.getTime()),
    __range: `${Math.round(rangeMs / 1000)}s`,
    __range_s: String(Math.round(rangeMs / 1000)),
    __range_ms: String(rangeMs),
    ...extra,
  }
}

const quoteLiteral = (value: string): string => `'${value.replaceAll("'", "''")}'`

/** The frontend step for SQL datasources: variables in, SQL literals out. */
function replaceSqlVariables(sql: string, context: QueryContext): string {
  const builtins = builtinVariables(context, {})
  return sql.replace(VARIABLE, (match, plain?: string, bracket?: string, bracketFormat?: string, braced?: string, _field?: string, bracedFormat?: string) => {
    const name = plain ?? bracket ?? braced!
    const format = bracketFormat ?? bracedFormat
    if (name in builtins) return builtins[name]!.replaceAll("'", "''")
    const variable = context.variables?.[name]
    // Unknown names stay as they are: macros such as $__timeFilter are the backend's.
    if (!variable) return match
    if (format === 'raw' || format === 'csv') return variable.values.join(',')
    if (format !== undefined) throw new Error(`variable format ${format} is not reproduced here`)
    // SqlDatasource.interpolateVariable: a single-value variable is inserted as is (quotes
    // doubled), a multi-value or All one as a list of quoted literals.
    if (!variable.multi) return variable.values[0]!.replaceAll("'", "''")
    return variable.values.map(quoteLiteral).join(',')
  })
}

/** Go's time.RFC3339Nano in UTC: no fractional part when it is zero, no trailing zeros. */
function rfc3339Nano(time: Date): string {
  return time.toISOString().replace(/\.?0+Z$/, 'Z')
}

/** gtime.ParseInterval for the forms dashboards use: 500ms, 30s, 5m, 2h, 1d, 1w, 1y. */
function parseIntervalSeconds(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$/.exec(text.trim())
  if (!match) throw new Error(`error parsing interval ${text}`)
  const seconds: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 }
  return Number(match[1]) * seconds[match[2]!]!
}

// macros.go: `\$([_a-zA-Z0-9]+)\(([^\)]*)\)`
const MACRO = /\$([_a-zA-Z0-9]+)\(([^)]*)\)/g

/** The backend step: the PostgreSQL datasource's macros, with `timescaledb: true`. */
function expandPostgresMacros(sql: string, range: TimeRange, timescaledb: boolean): string {
  return sql.replace(MACRO, (whole, name: string, argText: string, offset: number) => {
    const args = argText.split(',').map((arg) => arg.trim())
    // A $__timeGroup directly followed by ',' is the pre-5.3 form that also names the column.
    if (name === '__timeGroup' && sql[offset + whole.length] === ',') name = '__timeGroupAlias'
    const column = args[0]
    const needColumn = () => {
      if (!column) throw new Error(`missing time column argument for macro ${name}`)
      return column
    }
    const timeGroup = () => {
      if (args.length < 2) throw new Error(`macro ${name} needs time column and interval and optional fill value`)
      const seconds = parseIntervalSeconds(args[1]!.replaceAll("'", ''))
      return timescaledb ? `time_bucket('${seconds.toFixed(3)}s',${column})` : `floor(extract(epoch from ${column})/${seconds})*${seconds}`
    }
    switch (name) {
      case '__time':
        return `${needColumn()} AS "time"`
      case '__timeEpoch':
        return `extract(epoch from ${needColumn()}) as "time"`
      case '__timeFilter':
        return `${needColumn()} BETWEEN '${rfc3339Nano(range.from)}' AND '${rfc3339Nano(range.to)}'`
      case '__timeFrom':
        return `'${rfc3339Nano(range.from)}'`
      case '__timeTo':
        return `'${rfc3339Nano(range.to)}'`
      case '__timeGroup':
        return timeGroup()
      case '__timeGroupAlias':
        return `${timeGroup()} AS "time"`
      case '__unixEpochFilter':
        return `${needColumn()} >= ${Math.floor(range.from.getTime() / 1000)} AND ${column} <= ${Math.floor(range.to.getTime() / 1000)}`
      default:
        throw new Error(`unknown macro "${name}"`)
    }
  })
}

/** A panel's rawSql as the PostgreSQL datasource sends it to the database. */
export function expandSql(sql: string, context: QueryContext, options: { timescaledb?: boolean } = {}): string {
  return expandPostgresMacros(replaceSqlVariables(sql, context), context.range, options.timescaledb ?? true)
}

/**
 * A PromQL expression as the Prometheus datasource sends it. $__rate_interval is
 * max($__interval + scrape interval, 4 × scrape interval), Grafana's definition.
 */
export function expandPromQL(expr: string, context: QueryContext & { scrapeIntervalMs: number }): string {
  const rateIntervalMs = Math.max(context.intervalMs + context.scrapeIntervalMs, 4 * context.scrapeIntervalMs)
  const builtins = builtinVariables(context, {
    __rate_interval: intervalText(rateIntervalMs),
    __rate_interval_ms: String(rateIntervalMs),
  })
  return expr.replace(VARIABLE, (_match, plain?: string, bracket?: string, _format?: string, braced?: string) => {
    const name = plain ?? bracket ?? braced!
    if (name in builtins) return builtins[name]!
    const variable = context.variables?.[name]
    if (!variable) throw new Error(`variable $${name} is not defined`)
    // Prometheus formats a multi-value variable as a regex alternation.
    return variable.values.length === 1 ? variable.values[0]! : `(${variable.values.join('|')})`
  })
}
