// Resident memory of the process: the runtime instrumentation reports the V8 heap only, and
// what the kernel's OOM killer and a container memory limit see is the resident set.
import type { Meter } from '@opentelemetry/api'

export function observeProcessMemory(meter: Meter): void {
  const memoryUsage = meter.createObservableUpDownCounter('process.memory.usage', {
    description: 'Physical memory (resident set) in use by the process.',
    unit: 'By',
  })
  memoryUsage.addCallback((result) => result.observe(process.memoryUsage.rss()))
}
