// npm run check:image (after npm run build; .ci/run runs it): the Docker image's runtime stage
// without Docker. It assembles what that stage holds (dist/, proto/, sql/, package.json and only
// the production packages, as `npm ci --omit=dev` would leave them) in a temporary directory,
// then
//   - fails when a shipped file imports a package that is not a production dependency;
//   - runs every command of dist/cli with --help (exit 0 and its usage text);
//   - starts `node dist/main.js` on an empty DATA_DIR, waits for "ready", asks /healthz, and
//     stops it with SIGTERM, which must end it with exit 0.
// Everything it creates is removed at the end, whatever happens.
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import { builtinModules } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import ts from 'typescript'
import { PROJECT_DIR, runToExit, untilReady, type EntryProcess } from '../../test/support/project-process.ts'

/** What the runtime stage copies besides node_modules (see the Dockerfile). */
const SHIPPED = ['dist', 'proto', 'sql', 'package.json', 'package-lock.json']

const imageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-check-'))
const appDir = path.join(imageDir, 'app')
let service: EntryProcess | undefined
const problems: string[] = []
try {
  if (!fs.existsSync(path.join(PROJECT_DIR, 'dist', 'main.js'))) throw new Error('no dist/main.js: run npm run build first')
  assemble()
  problems.push(...devImports())
  problems.push(...(await commandsWithoutHelp()))
  problems.push(...(await serviceStartAndStop()))
} catch (error) {
  problems.push(String(error instanceof Error ? error.stack : error))
} finally {
  if (service && service.child.exitCode === null && service.child.signalCode === null) await service.stop('SIGKILL')
  fs.rmSync(imageDir, { recursive: true, force: true })
}
if (problems.length > 0) {
  console.error(`image check failed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`)
  process.exitCode = 1
} else {
  console.log('image check passed: production dependencies only, every command answers --help, the service starts and stops cleanly')
}

function assemble(): void {
  fs.mkdirSync(appDir)
  for (const entry of SHIPPED) fs.cpSync(path.join(PROJECT_DIR, entry), path.join(appDir, entry), { recursive: true })
  // npm's own list of the production packages (nested copies included), the root first.
  const packageDirs = execFileSync('npm', ['ls', '--omit=dev', '--parseable', '--all'], { cwd: PROJECT_DIR, encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.startsWith(path.join(PROJECT_DIR, 'node_modules') + path.sep))
  const copied: string[] = []
  for (const dir of packageDirs) {
    // A package's own node_modules holds only its dependencies: copied with it, once.
    if (copied.some((parent) => dir.startsWith(parent + path.sep))) continue
    const target = path.join(appDir, path.relative(PROJECT_DIR, dir))
    fs.mkdirSync(path.dirname(target), { recursive: true })
    // Hard links where the file system allows (fast, no space), a copy otherwise.
    try {
      execFileSync('cp', ['-al', dir, target])
    } catch {
      fs.cpSync(dir, target, { recursive: true })
    }
    copied.push(dir)
  }
}

/** Every bare import of a shipped file must name a production dependency or a Node built-in. */
function devImports(): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(appDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  const allowed = new Set([...Object.keys(manifest.dependencies), ...builtinModules])
  const found: string[] = []
  for (const [file, imports] of shippedImports()) {
    for (const name of imports) {
      if (name.startsWith('.') || name.startsWith('node:')) continue
      const packageName = name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : name.split('/')[0]!
      if (!allowed.has(packageName)) found.push(`dist/${file} imports ${name}, which is not a production dependency`)
    }
  }
  return found
}

/** The commands are the dist/cli files no other file imports (the rest are their helpers). */
async function commandsWithoutHelp(): Promise<string[]> {
  const imports = shippedImports()
  const commands = [...imports.keys()].filter((file) => file.startsWith(`cli${path.sep}`) && ![...imports].some(([importer, names]) => names.some((name) => path.join(path.dirname(importer), name) === file)))
  const found: string[] = []
  for (const command of commands) {
    const child = spawn(process.execPath, [path.join('dist', command), '--help'], { cwd: appDir, env: runtimeEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    const { code, stdout, stderr } = await runToExit(child)
    if (code !== 0 || !/usage/i.test(stdout)) found.push(`node dist/${command} --help exited ${code}:\n${stdout}${stderr}`)
  }
  console.log(`checked --help of ${commands.map((command) => `dist/${command}`).join(', ')}`)
  return found
}

async function serviceStartAndStop(): Promise<string[]> {
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: appDir, env: runtimeEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  service = await untilReady(child, { label: 'node dist/main.js', readyMessage: 'ready', timeoutMs: 120_000 })
  const health = await fetch(new URL('/healthz', service.ready.http as string))
  const { code, signal } = await service.stop('SIGTERM')
  const found: string[] = []
  if (!health.ok) found.push(`GET /healthz answered ${health.status}`)
  if (code !== 0) found.push(`node dist/main.js ended with ${code ?? signal} on SIGTERM:\n${service.output()}`)
  return found
}

/** Each .js file under dist/ (path relative to dist/) with the specifiers it imports, static or dynamic. */
function shippedImports(): Map<string, string[]> {
  const distDir = path.join(appDir, 'dist')
  const files = fs.readdirSync(distDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'))
  return new Map(files.map((file) => [file, ts.preProcessFile(fs.readFileSync(path.join(distDir, file), 'utf8'), true, true).importedFiles.map((imported) => imported.fileName)]))
}

/** As the image sets it: production mode, DATA_DIR a fresh directory, ports the system picks. */
function runtimeEnv(): NodeJS.ProcessEnv {
  const dataDir = path.join(imageDir, 'data')
  fs.mkdirSync(dataDir, { recursive: true })
  return { PATH: process.env.PATH, NODE_ENV: 'production', DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', EMBEDDED_PG_PORT: '0' }
}
