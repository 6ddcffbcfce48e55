// Reads a V8 CPU profile (`node --cpu-prof`) of the service: self time per area of the code
// (codec, embedded database, pg driver, HTTP, ...) and the top functions, so a bench run
// says where the service's CPU went and what share the codec had.
import fs from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  /** Busy time (all but idle), ms. */
  busyMs: number
  /** Share of busy time by area, 0..1, largest first. */
  areas: Array<{ area: string; share: number }>
  /** Functions with the most self time. */
  top: Array<{ fn: string; area: string; share: number }>
}

/** Which part of the service a frame belongs to, by its script URL. */
function areaOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame
  if (functionName === '(idle)') return 'idle'
  if (functionName === '(garbage collector)') return 'garbage collector'
  if (url.startsWith('wasm://') || url.includes('/pglite/')) return 'embedded database (PGlite wasm)'
  if (url.includes('/src/codec/') || url.includes('/protobufjs/') || url.includes('/@protobufjs/')) return 'codec'
  if (url.includes('/src/db/embedded/')) return 'embedded wire server'
  if (url.includes('/src/db/')) return 'writer and pool'
  if (url.includes('/node_modules/pg') ) return 'pg driver'
  if (url.includes('/src/http/') || url.includes('/hono/') || url.includes('/@hono/')) return 'HTTP (Hono)'
  if (url.includes('/src/telemetry/') || url.includes('/@opentelemetry/')) return 'telemetry'
  if (url.includes('/pino')) return 'logging'
  if (url === '' || url.startsWith('node:')) return functionName === '(program)' ? 'V8 / native' : 'Node.js runtime (file system: PGlite pages; sockets, buffers)'
  return 'other'
}

/**
 * The profiles of one process, one per thread (`--cpu-prof` writes one for each: the main
 * thread, the embedded engine's, Node's module loader's), summed into one summary.
 */
export function summarizeProfile(files: readonly string[], topCount = 12): ProfileSummary {
  const frames: Array<{ frame: ProfileNode['callFrame']; ms: number }> = []
  for (const file of files) {
    const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile
    const byId = new Map(profile.nodes.map((node) => [node.id, node]))
    const selfMs = new Map<number, number>()
    profile.samples.forEach((id, index) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000))
    for (const [id, ms] of selfMs) frames.push({ frame: byId.get(id)!.callFrame, ms })
  }
  const areas = new Map<string, number>()
  const functions = new Map<string, { area: string; ms: number }>()
  let busyMs = 0
  for (const { frame, ms } of frames) {
    const area = areaOf(frame)
    if (area === 'idle') continue
    busyMs += ms
    areas.set(area, (areas.get(area) ?? 0) + ms)
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${frame.lineNumber + 1}`
    const entry = functions.get(name) ?? { area, ms: 0 }
    entry.ms += ms
    functions.set(name, entry)
  }
  return {
    busyMs,
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([area, ms]) => ({ area, share: ms / busyMs })),
    top: [...functions]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, topCount)
      .map(([fn, { area, ms }]) => ({ fn, area, share: ms / busyMs })),
  }
}
