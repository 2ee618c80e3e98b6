import { z } from 'zod';

export const fileSinkConfig = z.strictObject({
  /** The JSON lines file samples are appended to; its directory must exist when writing. */
  path: z.string().min(1),
  /** fsync after every batch before acknowledging it (off trades durability for speed). */
  fsync: z.boolean().default(true),
});

export type FileSinkConfig = z.output<typeof fileSinkConfig>;
