// Group commit: concurrent writes share one transaction and its commit. A write that arrives
// while `maxGroupsInFlight` groups are already running waits in the queue; the next group to
// start takes the whole queue (up to its limits). So nothing waits on a timer: under light
// load every write is a group of one and goes at once, and under heavy load the window is
// the time the running group takes, the moment when the writes have to wait anyway.
//
// `runGroup` gets the items of one group and settles each one on its own (one bad upload
// fails alone); when it throws, every item of the group fails with that error. It may call
// `committing()` once only its commit is left. With one group in flight, the group then stops
// counting as in flight and the next one may start (its work queues behind the commit rather
// than behind a round trip, where one transaction runs at a time); with more, a group counts
// until it has settled, so no more than `maxGroupsInFlight` groups are ever in the database.
// Every item is still settled only when its own group has settled.

export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown }

export interface GroupCommitOptions<T, R> {
  /** Groups running at once (each on its own connection), not counting those left with only their commit. */
  maxGroupsInFlight: number
  /** At most this many items in one group. */
  maxItemsPerGroup: number
  /** At most this much weight (samples) in one group; a single heavier item still goes alone. */
  maxWeightPerGroup: number
  weight(item: T): number
  runGroup(items: T[], committing: () => void): Promise<Array<Settled<R>>>
}

interface Pending<T, R> {
  item: T
  resolve(value: R): void
  reject(error: unknown): void
}

export interface GroupCommit<T, R> {
  /** Resolves once the group holding `item` is committed; rejects if `item` was not stored. */
  submit(item: T): Promise<R>
}

/**
 * const writer = createGroupCommit({ maxGroupsInFlight: 3, maxItemsPerGroup: 48, maxWeightPerGroup: 50_000,
 *   weight: (upload) => upload.samples, runGroup: (uploads) => storeInOneTransaction(uploads) })
 * await writer.submit(upload) // after the commit of its group
 */
export function createGroupCommit<T, R>(options: GroupCommitOptions<T, R>): GroupCommit<T, R> {
  const queue: Array<Pending<T, R>> = []
  let inFlight = 0
  const startBesideCommit = options.maxGroupsInFlight === 1

  function takeGroup(): Array<Pending<T, R>> {
    const group: Array<Pending<T, R>> = []
    let weight = 0
    while (queue.length > 0 && group.length < options.maxItemsPerGroup) {
      const next = options.weight(queue[0]!.item)
      if (group.length > 0 && weight + next > options.maxWeightPerGroup) break
      group.push(queue.shift()!)
      weight += next
    }
    return group
  }

  async function run(group: Array<Pending<T, R>>, committing: () => void): Promise<void> {
    try {
      const results = await options.runGroup(group.map((pending) => pending.item), committing)
      group.forEach((pending, index) => {
        const result = results[index]!
        if (result.ok) pending.resolve(result.value)
        else pending.reject(result.error)
      })
    } catch (error) {
      for (const pending of group) pending.reject(error)
    }
  }

  function startGroups(): void {
    while (inFlight < options.maxGroupsInFlight && queue.length > 0) {
      inFlight++
      let counted = true
      const leave = (): void => {
        if (!counted) return
        counted = false
        inFlight--
        startGroups()
      }
      void run(takeGroup(), startBesideCommit ? leave : () => undefined).finally(leave)
    }
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject })
        startGroups()
      })
    },
  }
}
