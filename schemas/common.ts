import { z } from 'zod';
import { parseDuration } from '../model/duration.ts';
import { EXPOSITION_FORMATS } from '../model/exposition/types.ts';

/** A Prometheus duration string (`30s`, `5m`, `1h30m`), parsed to milliseconds. */
export const durationMs = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid duration "${text}": expected e.g. 30s, 5m, 1h30m (units y w d h m s ms)`,
    });
    return z.NEVER;
  }
  return ms;
});

export const expositionFormat = z.enum(EXPOSITION_FORMATS);

/** `host:port` as a listen or connect address. */
export const hostPort = z.string().regex(/^[^\s:]*:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464');

/** A NATS URL, or a comma separated list of them. */
export const natsUrl = z
  .string()
  .regex(/^(nats|tls|ws|wss):\/\/[^\s]+$/, 'expected a NATS URL such as nats://127.0.0.1:4222');

export const labelMap = z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'invalid label name'), z.string());
