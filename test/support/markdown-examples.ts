// The shell examples of the documentation, as the docs test runs them. Every ```sh block of
// README.md and docs/*.md is an example that must run, unless the line before it says why it
// cannot (`<!-- not-runnable: it starts the service in the foreground -->`). A ```text block
// right after an example is its output: each of its lines must appear in what the example
// prints, in order, with `...` standing for a part that changes from run to run (a token, a time).
import fs from 'node:fs'

export interface ShellExample {
  /** `docs/api.md:20`: where the block opens. */
  where: string
  script: string
  /** Lines of the output block after it, if any. */
  expectedOutput: string[] | undefined
}

export interface SkippedExample {
  where: string
  reason: string
}

const NOT_RUNNABLE = /^<!--\s*not-runnable:\s*(.+?)\s*-->$/

export function shellExamples(file: string, label = file): { runnable: ShellExample[]; skipped: SkippedExample[] } {
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  const runnable: ShellExample[] = []
  const skipped: SkippedExample[] = []
  for (let index = 0; index < lines.length; index++) {
    if (lines[index]!.trim() !== '```sh') continue
    const where = `${label}:${index + 1}`
    const body = blockAt(lines, index)
    const previous = lines.slice(0, index).reverse().find((line) => line.trim() !== '')
    const reason = previous !== undefined ? NOT_RUNNABLE.exec(previous.trim())?.[1] : undefined
    let next = body.end + 1
    while (next < lines.length && lines[next]!.trim() === '') next++
    const output = lines[next]?.trim() === '```text' ? blockAt(lines, next) : undefined
    if (reason !== undefined) skipped.push({ where, reason })
    else runnable.push({ where, script: body.lines.join('\n'), expectedOutput: output?.lines.filter((line) => line.trim() !== '') })
    index = output?.end ?? body.end
  }
  return { runnable, skipped }
}

function blockAt(lines: string[], open: number): { lines: string[]; end: number } {
  const end = lines.findIndex((line, at) => at > open && line.trim() === '```')
  if (end === -1) throw new Error(`unclosed code block at line ${open + 1}`)
  return { lines: lines.slice(open + 1, end), end }
}

/** The expected lines missing from `actual` (in order; `...` matches anything). */
export function missingOutputLines(expected: readonly string[], actual: string): string[] {
  const actualLines = actual.split('\n')
  const missing: string[] = []
  let from = 0
  for (const line of expected) {
    const pattern = new RegExp(`^${line.trim().split('...').map(escapeRegExp).join('.*')}$`)
    const found = actualLines.findIndex((candidate, at) => at >= from && pattern.test(candidate.trim()))
    if (found === -1) missing.push(line)
    else from = found + 1
  }
  return missing
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
