// CPU time a Linux process has used (user + system, all its threads), from /proc/<pid>/stat:
// what the service itself costs per sample, whatever else the machine is doing. And the whole
// machine's, from /proc/stat: on a machine whose cores the load, the service and its database
// share, what all of them together spend per sample.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'

let ticksPerSecond: number | undefined

function ticks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
  return ticksPerSecond
}

export function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces, so it is skipped up to its ')'):
  // state is field 3, utime field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / ticks()
}

/** CPU seconds of every core so far: busy (anything but idle and waiting for I/O) and in all. */
export function machineCpuSeconds(): { busy: number; total: number } {
  // cpu  user nice system idle iowait irq softirq steal ...
  const counters = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
  const total = counters.reduce((sum, value) => sum + value, 0)
  return { busy: (total - counters[3]! - counters[4]!) / ticks(), total: total / ticks() }
}
