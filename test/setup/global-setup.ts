// Runs once before the first test file (vitest globalSetup):
// - the tools the tests run must be there: installed when this process can (root with
//   apt-get), otherwise the run stops here, in its first second, with one line naming them;
// - every temporary file of the run goes under one directory, removed when the run ends,
//   whatever a test or a service it started left behind.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { canInstall, install, missingLine, missingPrerequisites } from './prerequisites.ts'

export default function setup(): () => void {
  const missing = missingPrerequisites()
  if (missing.length > 0 && !(canInstall() && install(missing))) {
    process.stderr.write(`${missingLine(missingPrerequisites())}\n`)
    process.exit(1)
  }

  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemetry-tests-'))
  // The plain PostgreSQL server of the tests runs as the `postgres` user, inside this directory.
  fs.chmodSync(runDir, 0o755)
  const previous = process.env.TMPDIR
  // Inherited by the test workers and every process they start: os.tmpdir() is under runDir.
  process.env.TMPDIR = runDir
  return () => {
    if (previous === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = previous
    fs.rmSync(runDir, { recursive: true, force: true })
  }
}
