// JSON bodies in the proto3 JSON mapping: a SampleCollection (`{"samples":[...]}`) or JSON
// lines with one Sample each (the clients' source files, so `curl --data-binary @file`
// works). Field checks are strict: an unknown field is an error that names it, rather than
// a value silently dropped.
import type protobuf from 'protobufjs'
import { DecodeError, describeWhere, type DecodeErrorDetails } from './errors.ts'
import { appendChecked, checkedTime, checkedTypeUrl, invalid, kindName, KNOWN_KINDS, type KnownKind, type MessageFields } from './kinds.ts'
import { parseRfc3339 } from './timestamp.ts'
import { emptySampleBatch, type SampleBatch } from './samples.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** `application/json`: `{"samples": [Sample, ...]}`. */
export function decodeJsonCollection(body: Uint8Array): SampleBatch {
  const text = decodeText(body)
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new DecodeError('malformed_body', `body is not valid JSON: ${(error as Error).message}${looksLikeJsonLines(text) ? NDJSON_HINT : ''}`)
  }
  if (!isObject(document)) throw new DecodeError('malformed_body', 'body must be a JSON object {"samples": [...]}')
  for (const key of Object.keys(document)) {
    if (key !== 'samples') throw new DecodeError('malformed_body', `"${key}" is not a field of SampleCollection (expected {"samples": [...]})`, { field: key })
  }
  const samples = document.samples ?? []
  if (!Array.isArray(samples)) throw new DecodeError('malformed_body', '"samples" must be an array', { field: 'samples' })
  const batch = emptySampleBatch()
  samples.forEach((sample, index) => withExactId(text, () => appendJsonSample(batch, sample, { sample: index })))
  return batch
}

/** `application/x-ndjson`: one Sample per line; blank lines are ignored. */
export function decodeJsonLines(body: Uint8Array): SampleBatch {
  const text = decodeText(body)
  const batch = emptySampleBatch()
  let lineStart = 0
  for (let lineNumber = 1; lineStart < text.length; lineNumber++) {
    const newline = text.indexOf('\n', lineStart)
    const lineEnd = newline === -1 ? text.length : newline
    const line = text.slice(lineStart, lineEnd).trim()
    lineStart = lineEnd + 1
    if (line === '') continue
    const where = { sample: batch.count, line: lineNumber }
    let sample: unknown
    try {
      sample = JSON.parse(line)
    } catch (error) {
      throw new DecodeError('malformed_body', `line ${lineNumber}: not valid JSON: ${(error as Error).message}`, where)
    }
    withExactId(line, () => appendJsonSample(batch, sample, where))
  }
  return batch
}

const NDJSON_HINT = '; it looks like JSON lines (one sample a line): send it as Content-Type: application/x-ndjson'

/** Several JSON objects one after the other, one a line: what a JSON-lines file holds. */
function looksLikeJsonLines(text: string): boolean {
  return /^\s*\{.*\}\s*\r?\n\s*\{/s.test(text) && !/^\s*\{\s*"samples"/.test(text)
}

/**
 * A numeric id beyond 2^53 is refused, and its error names the value sent; but JSON.parse
 * has already rounded it (9007199254740993 reads as ...992). Echo the digits of the source.
 */
function withExactId(source: string, append: () => void): void {
  try {
    append()
  } catch (error) {
    const value = error instanceof DecodeError && error.details.field === 'id' ? error.details.value : undefined
    if (error instanceof DecodeError && typeof value === 'number' && !Number.isSafeInteger(value)) {
      const literal = [...source.matchAll(/"id"\s*:\s*(-?\d[\d.eE+-]*)/g)].map((match) => match[1]!).find((digits) => Number(digits) === value)
      if (literal !== undefined) error.details.value = literal
    }
    throw error
  }
}

/** A proto3-JSON Sample of a known kind, every field checked. */
export interface JsonSample {
  id: string
  seconds: number
  nanos: number
  typeUrl: string
  known: KnownKind
  fields: MessageFields
}

/** Appends one proto3-JSON Sample (an already parsed line or array element). */
export function appendJsonSample(batch: SampleBatch, sample: unknown, where: DecodeErrorDetails): void {
  const checked = readJsonSample(sample, where)
  appendChecked(batch, checked.known, { id: checked.id, ...checkedTime(checked.seconds, checked.nanos, where) }, checked.fields)
}

/**
 * Reads and checks one proto3-JSON Sample. The server appends what it returns; the upload
 * client encodes it as protobuf, so both refuse the same lines with the same words.
 */
export function readJsonSample(sample: unknown, where: DecodeErrorDetails): JsonSample {
  if (!isObject(sample)) throw invalid('sample', 'must be a JSON object', where)
  for (const key of Object.keys(sample)) {
    if (key !== 'id' && key !== 'data' && key !== 'timestamp') throw invalid(key, 'is not a field of Sample', where)
  }
  const id = readInt64(sample.id, where)
  if (sample.timestamp == null) throw invalid('timestamp', 'is missing', where)
  if (typeof sample.timestamp !== 'string') throw invalid('timestamp', 'must be an RFC 3339 string', where, sample.timestamp)
  const parsed = parseRfc3339(sample.timestamp)
  if (!parsed) throw invalid('timestamp', 'is not an RFC 3339 timestamp like 2024-03-01T08:00:00.250Z', where, sample.timestamp)
  checkedTime(parsed.seconds, parsed.nanos, where)

  if (sample.data == null) throw invalid('data', 'is missing', where)
  if (!isObject(sample.data)) throw invalid('data', 'must be a JSON object with "@type"', where)
  const typeUrlValue = sample.data['@type']
  if (typeof typeUrlValue !== 'string') throw invalid('data.@type', 'is missing (proto3 JSON of an Any needs "@type")', where)
  const typeUrl = checkedTypeUrl(typeUrlValue, where)
  const known = KNOWN_KINDS.get(kindName(typeUrl))
  if (!known) {
    // The payload of an unknown kind cannot be re-encoded without its schema.
    throw new DecodeError(
      'unsupported_kind',
      `${describeWhere(where)}: kind "${kindName(typeUrl)}" is unknown to this server, so its JSON cannot be stored; send unknown kinds as protobuf, where they are kept verbatim`,
      { ...where, field: 'data.@type', value: typeUrl },
    )
  }
  const fields = readJsonFields(known.type, sample.data, where)
  known.check(fields, where)
  return { id, seconds: parsed.seconds, nanos: parsed.nanos, typeUrl, known, fields }
}

function readJsonFields(type: protobuf.Type, data: Record<string, unknown>, where: DecodeErrorDetails): MessageFields {
  // proto3 JSON leaves out fields that hold their default (0, false), as the protobuf
  // encoding does: start from the defaults so that `{"x":0.1,"y":0.2}` reads z = 0.
  const fields: MessageFields = {}
  for (const field of type.fieldsArray) fields[field.name] = field.defaultValue
  for (const [key, value] of Object.entries(data)) {
    if (key === '@type') continue
    const field = type.fields[key] ?? type.fieldsArray.find((candidate) => candidate.options?.json_name === key)
    if (!field) throw invalid(`data.${key}`, `is not a field of ${type.name}`, where)
    if (value === null) continue // proto3 JSON: null means the default value
    fields[field.name] = readJsonScalar(field, value, where)
  }
  return fields
}

function readJsonScalar(field: protobuf.Field, value: unknown, where: DecodeErrorDetails): unknown {
  const path = `data.${field.name}`
  switch (field.type) {
    case 'double':
    case 'float':
      if (typeof value === 'number') return value
      // proto3 JSON spells non-finite numbers (and allows numbers) as strings.
      if (value === 'NaN') return Number.NaN
      if (value === 'Infinity') return Number.POSITIVE_INFINITY
      if (value === '-Infinity') return Number.NEGATIVE_INFINITY
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value)
      throw invalid(path, 'must be a number', where, value)
    case 'bool':
      if (typeof value === 'boolean') return value
      throw invalid(path, 'must be true or false', where, value)
    default:
      throw invalid(path, `has type ${field.type}, which JSON uploads do not support yet`, where)
  }
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** int64 in proto3 JSON: a decimal string (or a number, when exact); absent means 0. */
function readInt64(value: unknown, where: DecodeErrorDetails): string {
  if (value == null) return '0'
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return String(value)
    throw invalid('id', 'must be an integer (ids beyond 2^53 must be sent as strings)', where, value)
  }
  if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) {
    const id = BigInt(value)
    if (id >= INT64_MIN && id <= INT64_MAX) return id.toString()
  }
  throw invalid('id', 'must be a 64-bit signed integer', where, value)
}

function decodeText(body: Uint8Array): string {
  try {
    return utf8.decode(body)
  } catch {
    throw new DecodeError('malformed_body', 'body is not valid UTF-8')
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
