// The programs the tests run besides Node (they test against the real tools, not stand-ins),
// each with the Debian package that brings it. One list, read by `npm run test:setup` and by
// the check that `npm test` makes before its first test.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

export interface Prerequisite {
  /** What a test runs: a command on PATH, a file, or a Python module. */
  name: string
  debianPackage: string
  present(): boolean
}

const onPath = (command: string): Prerequisite['present'] => () =>
  (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && isExecutable(path.join(dir, command)))

const command = (name: string, debianPackage: string): Prerequisite => ({ name, debianPackage, present: onPath(name) })

export const PREREQUISITES: readonly Prerequisite[] = [
  command('prometheus', 'prometheus'),
  command('promtool', 'prometheus'),
  command('prometheus-alertmanager', 'prometheus-alertmanager'),
  command('amtool', 'prometheus-alertmanager'),
  command('psql', 'postgresql-client-15'),
  command('pgbench', 'postgresql-client-15'),
  command('strace', 'strace'),
  // A PostgreSQL 15 server without TimescaleDB preloaded: what the service says to such a server.
  { name: '/usr/lib/postgresql/15/bin/initdb', debianPackage: 'postgresql-15', present: () => isExecutable('/usr/lib/postgresql/15/bin/initdb') },
  // Debian's Python, where the package installs the module (a pyenv or venv python3 earlier on PATH does not see it).
  {
    name: '/usr/bin/python3 with psycopg2',
    debianPackage: 'python3-psycopg2',
    present: () => spawnSync('/usr/bin/python3', ['-c', 'import psycopg2'], { stdio: 'ignore' }).status === 0,
  },
]

// kubectl (with kustomize v5) is not here: Debian's kubernetes-client conflicts with it, so it
// comes with the machine image (see docs/development.md).

export function missingPrerequisites(): Prerequisite[] {
  return PREREQUISITES.filter((prerequisite) => !prerequisite.present())
}

export function packagesOf(missing: readonly Prerequisite[]): string[] {
  return [...new Set(missing.map((prerequisite) => prerequisite.debianPackage))]
}

/** Root on a Debian-like machine: apt-get can install what is missing without asking anyone. */
export function canInstall(): boolean {
  return process.getuid?.() === 0 && onPath('apt-get')()
}

/** Runs apt-get (output shown); true when everything is present afterwards. */
export function install(missing: readonly Prerequisite[]): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const apt = (args: string[]) => spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0
  const packages = packagesOf(missing)
  // The package lists of a fresh machine may be empty or stale: update once if the install fails.
  if (!apt(['install', '-y', '--no-install-recommends', ...packages]) && !(apt(['update']) && apt(['install', '-y', '--no-install-recommends', ...packages]))) return false
  return missingPrerequisites().length === 0
}

/** The one line that says what is missing and the command that installs it. */
export function missingLine(missing: readonly Prerequisite[]): string {
  const names = missing.map((prerequisite) => `${prerequisite.name} (${prerequisite.debianPackage})`).join(', ')
  return `missing test prerequisites: ${names}; install them with \`npm run test:setup\` as root (or: sudo apt-get install -y ${packagesOf(missing).join(' ')})`
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}
