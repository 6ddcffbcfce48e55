// The protobuf fast path (src/codec/sample-reader.ts) against the encodings it must take and
// the ones it must hand to the reflection decoder: either way the columns are the same.
import Long from 'long'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { decodeSamples } from '../src/codec/index.ts'
import { AccelerationType, ActivityType, LocationType, SampleCollectionType } from '../src/codec/proto.ts'
import { readRawSample } from '../src/codec/sample-reader.ts'

const any = (kind: string, value: Uint8Array) => ({ type_url: `type.googleapis.com/${kind}`, value })
const acceleration = (x: number, y: number, z: number) => any('Acceleration', AccelerationType.encode({ x, y, z }).finish())
const collection = (...samples: Array<Record<string, unknown>>) => SampleCollectionType.encode(SampleCollectionType.fromObject({ samples })).finish()

describe('the fast Sample reader', () => {
  it('takes what encoders write and gives the same columns as the reflection decoder', () => {
    const body = collection(
      { id: 1, data: acceleration(0.5, -1, 0), timestamp: { seconds: 1_709_539_200, nanos: 20_000_000 } },
      { id: 2, data: any('Location', LocationType.encode({ latitude: 52.52, longitude: 13.4 }).finish()), timestamp: { seconds: 1_709_539_201, nanos: 999_999_999 } },
      { id: 3, data: any('Activity', ActivityType.encode({ walking: true, running: true }).finish()), timestamp: { seconds: 0, nanos: 0 } },
    )
    const reader = protobuf.Reader.create(body)
    reader.uint32() // field 1 tag
    const length = reader.uint32()
    expect(readRawSample(reader, reader.pos + length)).toMatchObject({ id: '1', seconds: 1_709_539_200, nanos: 20_000_000, typeUrl: 'type.googleapis.com/Acceleration' })

    const batch = decodeSamples('collection', body)
    expect(batch.acceleration).toMatchObject({ sampleIds: ['1'], seconds: [1_709_539_200], micros: [20_000], x: [0.5], y: [-1], z: [0] })
    expect(batch.location).toMatchObject({ sampleIds: ['2'], micros: [999_999], latitudes: [52.52], longitudes: [13.4] })
    expect(batch.activity).toMatchObject({ sampleIds: ['3'], seconds: [0], unknown: [false], stationary: [false], walking: [true], running: [true] })
  })

  it.each([
    ['an id beyond 2^53', { id: Long.fromString('9007199254740993'), seconds: 1 }, '9007199254740993', 1],
    ['a negative id', { id: Long.fromString('-5'), seconds: 1 }, '-5', 1],
    ['a time before 1970', { id: 7, seconds: -86_400 }, '7', -86_400],
  ])('hands %s to the general path, with the same result', (_, { id, seconds }, expectedId, expectedSeconds) => {
    const batch = decodeSamples('collection', collection({ id, data: acceleration(1, 2, 3), timestamp: { seconds, nanos: 0 } }))
    expect(batch.acceleration).toMatchObject({ sampleIds: [expectedId], seconds: [expectedSeconds], x: [1], y: [2], z: [3] })
  })

  it('keeps unknown kinds verbatim and reads known kinds after them', () => {
    const payload = Uint8Array.from([0x08, 0x3c])
    const batch = decodeSamples(
      'collection',
      collection({ id: 1, data: { type_url: 'type.googleapis.com/HeartRate', value: payload }, timestamp: { seconds: 5 } }, { id: 2, data: acceleration(0, 0, -1), timestamp: { seconds: 6 } }),
    )
    expect(batch.other).toMatchObject({ sampleIds: ['1'], typeUrls: ['type.googleapis.com/HeartRate'] })
    expect([...batch.other.payloads[0]!]).toEqual([...payload])
    expect(batch.acceleration).toMatchObject({ sampleIds: ['2'], z: [-1] })
  })

  it('a payload with a field it does not know is read by protobufjs (which skips the field)', () => {
    const value = Uint8Array.from([...AccelerationType.encode({ x: 1, y: 2, z: 3 }).finish(), 0x20, 0x01]) // field 4, varint
    const batch = decodeSamples('collection', collection({ id: 1, data: any('Acceleration', value), timestamp: { seconds: 5 } }))
    expect(batch.acceleration).toMatchObject({ x: [1], y: [2], z: [3] })
  })
})
