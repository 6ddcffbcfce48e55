// The codec against bodies encoded by Google's own protobuf library (test/data, copied from
// shared/fixtures/wire), and against every kind of bad input it must refuse with a clear,
// located error.
import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { ACCEPTED_CONTENT_TYPES, bodyFormatFor, CONTENT_TYPES, DecodeError, decodeSamples, type BodyFormat, type SampleBatch } from '../src/codec/index.ts'
import { SampleCollectionType, SampleType } from '../src/codec/proto.ts'
import { expectedSamples, fixture, WIRE_BODIES, type ExpectedSample } from './support/fixtures.ts'


const expected = expectedSamples()

/** The batch as one flat list of samples, in the fixture's vocabulary, for comparison. */
function flatten(batch: SampleBatch): ExpectedSample[] {
  const rows: ExpectedSample[] = []
  const key = (columns: { sampleIds: string[]; seconds: number[]; micros: number[] }, i: number) => ({
    id: columns.sampleIds[i]!,
    seconds: columns.seconds[i]!,
    micros: columns.micros[i]!,
  })
  batch.location.sampleIds.forEach((_, i) =>
    rows.push({ ...key(batch.location, i), kind: 'location', latitude: batch.location.latitudes[i], longitude: batch.location.longitudes[i] } as never),
  )
  batch.activity.sampleIds.forEach((_, i) =>
    rows.push({
      ...key(batch.activity, i),
      kind: 'activity',
      unknown: batch.activity.unknown[i],
      stationary: batch.activity.stationary[i],
      walking: batch.activity.walking[i],
      running: batch.activity.running[i],
    } as never),
  )
  batch.acceleration.sampleIds.forEach((_, i) =>
    rows.push({ ...key(batch.acceleration, i), kind: 'acceleration', x: batch.acceleration.x[i], y: batch.acceleration.y[i], z: batch.acceleration.z[i] } as never),
  )
  batch.other.sampleIds.forEach((_, i) =>
    rows.push({ ...key(batch.other, i), kind: 'other', type_url: batch.other.typeUrls[i], payload_hex: Buffer.from(batch.other.payloads[i]!).toString('hex') } as never),
  )
  return rows.sort((a, b) => a.id.localeCompare(b.id))
}

/** expected.json in the codec's vocabulary: microseconds (nanoseconds below are dropped). */
function expectedRows(samples: ExpectedSample[]): unknown[] {
  return samples
    .map(({ type_url, nanos, kind, ...rest }) => ({ ...rest, kind, micros: Math.floor(nanos / 1000), ...(kind === 'other' ? { type_url } : {}) }))
    .sort((a, b) => a.id.localeCompare(b.id))
}

describe('decoding the wire fixtures', () => {
  it('SampleCollection (application/x-protobuf)', () => {
    const batch = decodeSamples('collection', fixture('collection.bin'))
    expect(batch.count).toBe(6)
    expect(flatten(batch)).toEqual(expectedRows(expected))
  })

  it('length-delimited stream (application/octet-stream)', () => {
    expect(flatten(decodeSamples('delimited', fixture('delimited.bin')))).toEqual(expectedRows(expected))
  })

  it('JSON lines (application/x-ndjson)', () => {
    expect(flatten(decodeSamples('ndjson', fixture('samples.jsonl')))).toEqual(expectedRows(expected.slice(0, 5)))
  })

  it('JSON SampleCollection (application/json)', () => {
    expect(flatten(decodeSamples('json', WIRE_BODIES.json))).toEqual(expectedRows(expected.slice(0, 5)))
  })

  it('keeps an id above 2^53 exact and a negative id', () => {
    const ids = decodeSamples('collection', fixture('collection.bin')).location.sampleIds
    expect(ids).toEqual(['9007199254740993', '-5'])
  })

  it('an empty body is an empty upload', () => {
    expect(decodeSamples('collection', Buffer.alloc(0)).count).toBe(0)
    expect(decodeSamples('ndjson', Buffer.from('\n\n')).count).toBe(0)
  })
})

describe('Content-Type', () => {
  it.each<[string, BodyFormat | undefined]>([
    ['application/x-protobuf', 'collection'],
    ['application/protobuf', 'collection'],
    ['application/x-protobuf; delimited=true', 'delimited'],
    ['Application/X-Protobuf; Delimited=True', 'delimited'],
    ['application/octet-stream', 'delimited'],
    ['application/json; charset=utf-8', 'json'],
    ['application/x-ndjson', 'ndjson'],
    ['application/jsonl', 'ndjson'],
    ['text/plain', undefined],
    ['constructor', undefined],
    ['', undefined],
  ])('%s -> %s', (contentType, format) => {
    expect(bodyFormatFor(contentType)).toBe(format)
  })
  it('the list a refused upload is told to use names only types that are taken', () => {
    expect(ACCEPTED_CONTENT_TYPES.filter((contentType) => bodyFormatFor(contentType) === undefined)).toEqual([])
    expect(ACCEPTED_CONTENT_TYPES).toEqual(expect.arrayContaining(Object.values(CONTENT_TYPES)))
  })
})

/** Encodes samples (protobufjs plain objects) as a SampleCollection. */
function collectionOf(...samples: Array<Record<string, unknown>>): Uint8Array {
  return SampleCollectionType.encode(SampleCollectionType.fromObject({ samples })).finish()
}
const location = (latitude: number, longitude: number) => ({
  type_url: 'type.googleapis.com/Location',
  value: Buffer.from([0x09, ...f64(latitude), 0x11, ...f64(longitude)]),
})
function f64(value: number): number[] {
  const buffer = Buffer.alloc(8)
  buffer.writeDoubleLE(value)
  return [...buffer]
}
const ok = { id: 1, data: location(1, 2), timestamp: { seconds: 1_700_000_000, nanos: 0 } }

function decodeError(format: BodyFormat, body: Uint8Array | string): DecodeError {
  try {
    decodeSamples(format, typeof body === 'string' ? Buffer.from(body) : body)
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError)
    return error as DecodeError
  }
  throw new Error('expected a DecodeError')
}

describe('refusing bad samples, naming the sample and the field', () => {
  it.each([
    ['a missing timestamp', { id: 2, data: location(1, 2) }, 'timestamp'],
    ['a missing data', { id: 2, timestamp: { seconds: 1, nanos: 0 } }, 'data'],
    ['a latitude above 90', { ...ok, data: location(90.5, 2) }, 'data.latitude'],
    ['a longitude below -180', { ...ok, data: location(1, -180.01) }, 'data.longitude'],
    ['a NaN latitude', { ...ok, data: location(Number.NaN, 2) }, 'data.latitude'],
    ['an infinite longitude', { ...ok, data: location(1, Number.POSITIVE_INFINITY) }, 'data.longitude'],
    ['a timestamp after 9999', { ...ok, timestamp: { seconds: 253_402_300_800, nanos: 0 } }, 'timestamp.seconds'],
    ['a timestamp before year 1', { ...ok, timestamp: { seconds: -62_135_596_801, nanos: 0 } }, 'timestamp.seconds'],
    ['negative nanos', { ...ok, timestamp: { seconds: 1, nanos: -1 } }, 'timestamp.nanos'],
    ['an empty type URL', { ...ok, data: { type_url: '', value: Buffer.alloc(0) } }, 'data.type_url'],
    ['a non-ASCII type URL', { ...ok, data: { type_url: 'type.googleapis.com/Lö', value: Buffer.alloc(0) } }, 'data.type_url'],
    ['a Location payload that does not decode', { ...ok, data: { type_url: 'type.googleapis.com/Location', value: Buffer.from([0x09, 1, 2]) } }, 'data.value'],
  ])('%s', (_, bad, field) => {
    const error = decodeError('collection', collectionOf(ok, ok, bad as Record<string, unknown>))
    expect(error.code).toBe('invalid_sample')
    expect(error.details).toMatchObject({ sample: 2, field })
    expect(error.message).toMatch(/^sample 2, byte offset \d+: /)
    expect(error.message).toContain(field)
  })

  it('JSON: names the line, the sample and the field', () => {
    const lines = [
      '{"id":"1","data":{"@type":"type.googleapis.com/Location","latitude":1,"longitude":2},"timestamp":"2024-03-01T08:00:00Z"}',
      '',
      '{"id":"2","data":{"@type":"type.googleapis.com/Location","latitude":91,"longitude":2},"timestamp":"2024-03-01T08:00:00Z"}',
    ].join('\n')
    const error = decodeError('ndjson', lines)
    expect(error.details).toMatchObject({ sample: 1, line: 3, field: 'data.latitude', value: 91 })
  })

  it.each([
    ['an unknown field', '{"id":"1","data":{"@type":"type.googleapis.com/Location","lat":1},"timestamp":"2024-03-01T08:00:00Z"}', 'data.lat'],
    ['a bad timestamp', '{"id":"1","data":{"@type":"type.googleapis.com/Activity"},"timestamp":"2024-02-30T08:00:00Z"}', 'timestamp'],
    ['a timestamp without zone', '{"id":"1","data":{"@type":"type.googleapis.com/Activity"},"timestamp":"2024-03-01T08:00:00"}', 'timestamp'],
    ['a boolean as a string', '{"id":"1","data":{"@type":"type.googleapis.com/Activity","walking":"yes"},"timestamp":"2024-03-01T08:00:00Z"}', 'data.walking'],
    ['an id beyond int64', '{"id":"9223372036854775808","data":{"@type":"type.googleapis.com/Activity"},"timestamp":"2024-03-01T08:00:00Z"}', 'id'],
    ['an unsafe numeric id', '{"id":9007199254740993,"data":{"@type":"type.googleapis.com/Activity"},"timestamp":"2024-03-01T08:00:00Z"}', 'id'],
    ['"NaN" as a coordinate', '{"id":"1","data":{"@type":"type.googleapis.com/Acceleration","x":"NaN"},"timestamp":"2024-03-01T08:00:00Z"}', 'data.x'],
    ['no @type', '{"id":"1","data":{"latitude":1},"timestamp":"2024-03-01T08:00:00Z"}', 'data.@type'],
  ])('JSON: %s', (_, line, field) => {
    expect(decodeError('ndjson', line).details).toMatchObject({ sample: 0, line: 1, field })
  })

  it('JSON: an unknown kind cannot be stored from JSON and says to send protobuf', () => {
    const error = decodeError('ndjson', '{"id":"6","data":{"@type":"type.googleapis.com/HeartRate","bpm":60},"timestamp":"2024-03-01T08:00:00Z"}')
    expect(error.code).toBe('unsupported_kind')
    expect(error.message).toMatch(/HeartRate.*protobuf/)
  })

  it('JSON: fields left out hold their proto3 default (0, false), as Google\'s printer writes them', () => {
    const batch = decodeSamples(
      'ndjson',
      Buffer.from(
        [
          '{"id":"1","data":{"@type":"type.googleapis.com/Acceleration","x":0.5,"y":-1},"timestamp":"2024-03-01T08:00:00Z"}',
          '{"id":"2","data":{"@type":"type.googleapis.com/Location","longitude":2.35},"timestamp":"2024-03-01T08:00:00Z"}',
        ].join('\n'),
      ),
    )
    expect(batch.acceleration).toMatchObject({ x: [0.5], y: [-1], z: [0] })
    expect(batch.location).toMatchObject({ latitudes: [0], longitudes: [2.35] })
  })

  it('JSON keeps nanoseconds below a microsecond out (truncated) and reads offsets', () => {
    const batch = decodeSamples('ndjson', Buffer.from('{"data":{"@type":"type.googleapis.com/Activity"},"timestamp":"0001-01-01T01:00:00.123456789+01:00"}'))
    expect(batch.activity).toMatchObject({ sampleIds: ['0'], seconds: [-62_135_596_800], micros: [123_456] })
  })
})

describe('refusing malformed bodies, naming the byte offset or line', () => {
  const collection = fixture('collection.bin')
  const delimited = fixture('delimited.bin')

  it('a truncated SampleCollection', () => {
    const error = decodeError('collection', collection.subarray(0, collection.length - 3))
    expect(error.code).toBe('malformed_body')
    expect(error.details.sample).toBe(5)
    expect(error.message).toMatch(/sample 5 at byte offset \d+/)
  })

  it('a length prefix larger than the body', () => {
    const error = decodeError('delimited', Buffer.concat([delimited, Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01])]))
    expect(error.code).toBe('malformed_body')
    expect(error.details).toMatchObject({ sample: 6, offset: delimited.length })
    expect(error.message).toMatch(/declares \d+ bytes but only 1 remain/)
  })

  it('a wrong wire type for the samples field', () => {
    const error = decodeError('collection', Buffer.from([0x08, 0x01]))
    expect(error.message).toMatch(/wire type 0/)
  })

  it('random bytes', () => {
    expect(decodeError('delimited', Buffer.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff])).code).toBe('malformed_body')
  })

  it('JSON that does not parse, with the line', () => {
    const valid = '{"id":"1","data":{"@type":"type.googleapis.com/Activity"},"timestamp":"2024-03-01T08:00:00Z"}'
    expect(decodeError('ndjson', `${valid}\n{nope`).details).toMatchObject({ sample: 1, line: 2 })
  })

  it('invalid UTF-8 in a JSON body', () => {
    expect(decodeError('json', Buffer.from([0x7b, 0xff, 0x7d])).message).toMatch(/UTF-8/)
  })

  it('gzip is not the codec’s business: compressed bytes are refused as protobuf', () => {
    expect(decodeError('collection', zlib.gzipSync(collection)).code).toBe('malformed_body')
  })

  it('a Sample (not a collection) sent as a collection is refused, not misread', () => {
    const single = SampleType.encode(SampleType.fromObject(ok)).finish()
    expect(() => decodeSamples('collection', single)).toThrow(DecodeError)
  })
})
