// What one query may make the embedded engine's memory grow to. PGlite's heap is a WebAssembly
// memory: it grows to the largest allocation the engine ever made and never shrinks, so a
// single greedy query costs the process that memory until it restarts. Measured on this build
// (docs/embedded-database.md, "Memory"): the heap starts at 174 MiB (128 MiB of it
// shared_buffers); a 3-million-row sort stays at 174 MiB with work_mem = 4MB (it spills to
// temporary files in DATA_DIR) but takes the heap to 622 MiB for good with work_mem = 1GB.
//
// So the settings that bound a query's working memory are pinned to PostgreSQL's defaults
// here rather than left to whatever PGlite starts with. They are one session's settings shared
// by every client (see "Session settings" in the docs): a client that needs more for one query
// uses SET LOCAL inside a transaction, which ends with it.
export const MEMORY_BOUNDS_SQL = [
  // Each sort or hash node of a query, before it spills to disk (hashes: x hash_mem_multiplier).
  `set work_mem = '4MB'`,
  `set hash_mem_multiplier = 2`,
  // CREATE INDEX, VACUUM, and TimescaleDB's compression jobs.
  `set maintenance_work_mem = '64MB'`,
  // Buffers for temporary tables.
  `set temp_buffers = '8MB'`,
  // What spilled sorts and hashes may write to DATA_DIR, so one query cannot fill the disk.
  `set temp_file_limit = '1GB'`,
].join('; ')
