import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** Logs to stderr: readable lines on a terminal, JSON lines otherwise (SLUICE_LOG_FORMAT=json|pretty). */
export function createLogger(level = process.env.SLUICE_LOG_LEVEL ?? 'info'): Logger {
  const format = process.env.SLUICE_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format === 'pretty') {
    return pino({ level }, pretty({ destination: 2, colorize: process.stderr.isTTY, ignore: 'pid,hostname', sync: true }));
  }
  return pino({ level }, pino.destination({ fd: 2, sync: true }));
}
