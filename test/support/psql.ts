// psql as a person at a terminal leaves it: running at its prompt, stdin kept open, lines
// typed one at a time. It reads its socket only when a line arrives, which is what the
// embedded database's idle-in-transaction and cancel handling must cope with.
import { spawn } from 'node:child_process'

export function interactivePsql(url: string) {
  const child = spawn('psql', [url, '-X', '-q', '-A', '-t'], { stdio: ['pipe', 'pipe', 'pipe'] })
  const output = { stdout: '', stderr: '' }
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  return {
    child,
    output,
    send: (line: string) => child.stdin.write(`${line}\n`),
    async quit() {
      if (child.exitCode === null) child.stdin.end('\\q\n')
      return exited
    },
  }
}
