// Structured logs (JSON lines on stdout), one logger for the whole process.
import pino, { type Logger } from 'pino'
import type { Config } from './config.ts'

export type { Logger }

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: undefined, // pid and hostname belong to the process supervisor, not every line
    // Tokens never reach the logs, whatever object a caller hands in.
    redact: { paths: ['token', '*.token', 'req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
  })
}
