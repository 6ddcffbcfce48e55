// The sample simulator: one person in a real city, generating locations, activity states and
// 50 Hz acceleration as proto3-JSON lines. The CLI is src/cli/simulate.ts.
export { generateSamples, groundTruth, SIMULATION_DEFAULTS, type GroundTruth, type GroundTruthStay, type SimulationOptions } from './simulation.ts'
export { LIFE_RULES } from './life.ts'
export { formatSampleLine, formatTimestamp } from './jsonl.ts'
export { simulateToFiles, type SimulationProgress, type SimulationResult } from './run.ts'
export { openSampleFiles, FILE_NAMES, type SampleFiles, type WrittenFile } from './writer.ts'
export { collectStats, formatStats, activityStateName, type SimulationStats } from './stats.ts'
export { BERLIN, type City, type Place } from './city.ts'
export { LOCATION_RULES } from './location.ts'
export { SAMPLE_INTERVAL_MS } from './acceleration.ts'
export type { SimulatedSample, SimulatedKind, LocationData, ActivityData, AccelerationData } from './samples.ts'
