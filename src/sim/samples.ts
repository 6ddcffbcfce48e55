// What the simulator produces: samples of the three kinds the service knows, with the
// fields of their proto messages (proto/sample.proto).

export type SimulatedKind = 'location' | 'activity' | 'acceleration'

export interface LocationData {
  latitude: number
  longitude: number
}

/** The flags are not exclusive: several or none may be true. */
export interface ActivityData {
  unknown: boolean
  stationary: boolean
  walking: boolean
  running: boolean
}

/** In g, as the phone's accelerometer reports it (gravity included). */
export interface AccelerationData {
  x: number
  y: number
  z: number
}

/** A sensor reading before it gets its place in the sequence (its id). */
export type Reading =
  | { kind: 'location'; timeMs: number; data: LocationData }
  | { kind: 'activity'; timeMs: number; data: ActivityData }
  | { kind: 'acceleration'; timeMs: number; data: AccelerationData }

/** One sample: `id` counts up across all kinds of the simulated device, in time order. */
export type SimulatedSample = Reading & { id: number }
