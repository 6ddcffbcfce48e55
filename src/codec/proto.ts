// The wire format, loaded once from proto/sample.proto so the .proto file stays the one
// source of truth (no generated code to keep in step). protobufjs brings the well-known
// google/protobuf types (Any, Timestamp) itself.
import protobuf from 'protobufjs'
import { fileURLToPath } from 'node:url'

// Two levels up from src/codec/ and from dist/codec/ alike.
const protoPath = fileURLToPath(new URL('../../proto/sample.proto', import.meta.url))

export const protoRoot = protobuf.loadSync(protoPath).resolveAll()

export const SampleType = protoRoot.lookupType('Sample')
export const SampleCollectionType = protoRoot.lookupType('SampleCollection')
export const LocationType = protoRoot.lookupType('Location')
export const ActivityType = protoRoot.lookupType('Activity')
export const AccelerationType = protoRoot.lookupType('Acceleration')

export const TYPE_URL_PREFIX = 'type.googleapis.com/'
