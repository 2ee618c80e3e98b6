import { z } from 'zod';

export const blackholeSinkConfig = z.strictObject({});

export type BlackholeSinkConfig = z.output<typeof blackholeSinkConfig>;
