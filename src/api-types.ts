// The shapes of the HTTP API's answers, shared by the service (src/http/) and its client
// (src/client/), so the two cannot drift apart. Types only: nothing here runs.
import type { CountsByKind } from './codec/index.ts'

/** The answer 200 to POST /v1/samples: every sample of the upload is stored. */
export interface UploadAnswer {
  /** Samples stored by this upload. */
  accepted: number
  /** Samples already stored before (same device, id and time; an earlier upload or a retry of this one): accepted + duplicates = samples sent. */
  duplicates: number
  /** Samples of each kind in this upload. */
  byKind: CountsByKind
}
