// `npm test` on a machine that lacks the tools the tests run: one line naming them and the
// command that installs them, instead of ENOENT in six tests.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { PREREQUISITES } from './setup/prerequisites.ts'
import { runToExit, spawnTs, temporaryDir } from './support/service.ts'

const bareBin = temporaryDir('bare-path-')
afterAll(() => fs.rmSync(bareBin, { recursive: true, force: true }))

describe('test prerequisites', () => {
  it('are all present here (npm run test:setup -- --check)', async () => {
    const check = await runToExit(spawnTs('test/setup/install.ts', ['--check'], {}))
    expect(check.stderr).toBe('')
    expect(check.code).toBe(0)
  })

  it('when missing, are named in one line with the command that installs them', async () => {
    // A PATH that holds node and nothing else.
    fs.symlinkSync(process.execPath, path.join(bareBin, 'node'))
    const check = await runToExit(spawnTs('test/setup/install.ts', ['--check'], { PATH: bareBin }))
    expect(check.code).toBe(1)
    const lines = check.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^missing test prerequisites: prometheus \(prometheus\), promtool \(prometheus\), prometheus-alertmanager \(prometheus-alertmanager\), /)
    expect(lines[0]).toContain('install them with `npm run test:setup` as root')
    for (const prerequisite of PREREQUISITES.filter((candidate) => !candidate.name.startsWith('/'))) expect(lines[0]).toContain(prerequisite.name)
  })
})
