// The group-commit queue on its own (src/db/group-commit.ts), with a runGroup the test holds
// open: who goes in which group, the group limits, and how each item is settled.
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.ts'
import { createGroupCommit, type Settled } from '../src/db/group-commit.ts'

interface HeldGroup {
  items: number[]
  /** Says only the group's commit is left. */
  committing(): void
  finish(results?: Array<Settled<string>>): void
  fail(error: Error): void
}

/** Lets the queue start its next group (it does so once the finished group's promises settle). */
const turn = () => new Promise((resolve) => setImmediate(resolve))

/** A queue whose groups wait until the test finishes them; `groups` lists them as they start. */
function heldQueue(limits: { maxGroupsInFlight?: number; maxItemsPerGroup?: number; maxWeightPerGroup?: number } = {}) {
  const groups: HeldGroup[] = []
  const queue = createGroupCommit<number, string>({
    maxGroupsInFlight: limits.maxGroupsInFlight ?? 1,
    maxItemsPerGroup: limits.maxItemsPerGroup ?? 100,
    maxWeightPerGroup: limits.maxWeightPerGroup ?? 1_000_000,
    weight: (item) => item,
    runGroup: (items, committing) =>
      new Promise((resolve, reject) => {
        groups.push({
          items,
          committing,
          finish: (results) => resolve(results ?? items.map((item) => ({ ok: true, value: `stored ${item}` }))),
          fail: reject,
        })
      }),
  })
  return { queue, groups }
}

describe('group commit queue', () => {
  it('starts a lone item at once, and puts what arrives meanwhile into the next group', async () => {
    const { queue, groups } = heldQueue()
    const first = queue.submit(1)
    expect(groups.map((group) => group.items)).toEqual([[1]])
    const waiting = [queue.submit(2), queue.submit(3), queue.submit(4)]
    expect(groups).toHaveLength(1)

    groups[0]!.finish()
    expect(await first).toBe('stored 1')
    await turn()
    expect(groups.map((group) => group.items)).toEqual([[1], [2, 3, 4]])
    groups[1]!.finish()
    expect(await Promise.all(waiting)).toEqual(['stored 2', 'stored 3', 'stored 4'])
  })

  it('keeps each group within its item and weight limits; a heavier item goes alone', async () => {
    const { queue, groups } = heldQueue({ maxItemsPerGroup: 3, maxWeightPerGroup: 10 })
    const all = [queue.submit(1), queue.submit(1), queue.submit(1), queue.submit(1), queue.submit(1), queue.submit(6), queue.submit(5), queue.submit(50)]
    for (let index = 0; index < 5; index++) {
      await turn()
      groups.at(-1)!.finish()
    }
    await Promise.all(all)
    expect(groups.map((group) => group.items)).toEqual([[1], [1, 1, 1], [1, 6], [5], [50]])
  })

  it('fails only the item its group says failed, and every item when the group fails', async () => {
    const { queue, groups } = heldQueue()
    const first = queue.submit(1)
    const good = queue.submit(2)
    const bad = queue.submit(3)
    groups[0]!.finish()
    await first
    await turn()
    const refused = new Error('check constraint')
    groups[1]!.finish([{ ok: true, value: 'stored 2' }, { ok: false, error: refused }])
    expect(await good).toBe('stored 2')
    await expect(bad).rejects.toBe(refused)

    await turn()
    const alone = queue.submit(4)
    const lost = [queue.submit(5), queue.submit(6)]
    groups[2]!.finish()
    await alone
    await turn()
    expect(groups[3]!.items).toEqual([5, 6])
    const broken = new Error('connection lost')
    groups[3]!.fail(broken)
    for (const item of lost) await expect(item).rejects.toBe(broken)
  })

  it('starts the next group once the running one has only its commit left, and settles each item with its own group', async () => {
    const { queue, groups } = heldQueue()
    const first = queue.submit(1)
    const second = queue.submit(2)
    expect(groups.map((group) => group.items)).toEqual([[1]])
    groups[0]!.committing()
    expect(groups.map((group) => group.items)).toEqual([[1], [2]])
    // Said twice (and then finished): still one group less in flight, not two.
    groups[0]!.committing()
    const third = queue.submit(3)
    const fourth = queue.submit(4)
    expect(groups).toHaveLength(2)

    let firstSettled = false
    void first.then(() => (firstSettled = true))
    groups[1]!.finish()
    expect(await second).toBe('stored 2')
    expect(firstSettled).toBe(false)
    await turn()
    expect(groups.map((group) => group.items)).toEqual([[1], [2], [3, 4]])
    groups[0]!.finish()
    expect(await first).toBe('stored 1')
    await turn()
    expect(groups).toHaveLength(3)
    groups[2]!.finish()
    expect(await Promise.all([third, fourth])).toEqual(['stored 3', 'stored 4'])
  })

  it('with more than one group in flight, keeps counting a group that has only its commit left until it settles', async () => {
    const { queue, groups } = heldQueue({ maxGroupsInFlight: 2 })
    const first = queue.submit(1)
    const second = queue.submit(2)
    const later = [queue.submit(3), queue.submit(4)]
    expect(groups.map((group) => group.items)).toEqual([[1], [2]])
    groups[0]!.committing()
    await turn()
    expect(groups).toHaveLength(2)
    groups[0]!.finish()
    expect(await first).toBe('stored 1')
    await turn()
    expect(groups.map((group) => group.items)).toEqual([[1], [2], [3, 4]])
    groups[1]!.finish()
    groups[2]!.finish()
    expect(await Promise.all([second, ...later])).toEqual(['stored 2', 'stored 3', 'stored 4'])
  })
})

describe('WRITE_GROUPS_IN_FLIGHT', () => {
  it('is 1 on the embedded database and 3 on a server unless set, and needs two more pool connections than groups', () => {
    expect(loadConfig({}).writeGroupsInFlight).toBe(1)
    expect(loadConfig({ DATABASE_URL: 'postgres://db/telemetry' }).writeGroupsInFlight).toBe(3)
    expect(loadConfig({ WRITE_GROUPS_IN_FLIGHT: '4' }).writeGroupsInFlight).toBe(4)
    expect(() => loadConfig({ WRITE_GROUPS_IN_FLIGHT: '7' })).toThrow(new ConfigError('WRITE_GROUPS_IN_FLIGHT (7) needs DB_POOL_SIZE of at least 9, not 8'))
    expect(() => loadConfig({ WRITE_GROUPS_IN_FLIGHT: '0' })).toThrow(ConfigError)
  })
})
