/**
 * The top level of `topology.yaml`.
 *
 * This schema owns the file's own keys (`data_dir`, `api`, the three sections) and each
 * component's envelope: its name, `type` and (for operators and sinks) `inputs`. A component's
 * other keys belong to its type's schema in the component catalog; the topology compiler
 * (`pipelines/topology/compile.ts`) validates them against it, since which schema applies depends
 * on `type`. Graph rules (inputs naming existing components, no cycles, every sink fed, every
 * source read) are checked after this schema, in `pipelines/topology/graph.ts`.
 */
import { z } from 'zod';

export const COMPONENT_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_-]*$/;

export const componentName = z.string().regex(COMPONENT_NAME_PATTERN, {
  error: 'a component name must start with a letter or "_" and contain only letters, digits, "_" and "-"',
});

/** `host:port`, `[v6addr]:port`, or `:port` (all interfaces). */
const listenAddress = z
  .string()
  .regex(/^(?:\[[0-9A-Fa-f:.]+\]|[^\s:[\]]*):[0-9]{1,5}$/, {
    error: 'expected "host:port" (e.g. "127.0.0.1:9464", ":9464" or "[::1]:9464")',
    abort: true,
  })
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, { error: 'the port must be at most 65535' });

export const DEFAULT_API_LISTEN = '127.0.0.1:9464';
export const DEFAULT_DATA_DIR = './data';

export const apiSchema = z.strictObject({
  /** Where sluice serves `/metrics` and its query API. */
  listen: listenAddress.default(DEFAULT_API_LISTEN),
  enabled: z.boolean().default(true),
});

const inputs = z.array(z.string()).nullish();

/** A source reads from outside the topology: its envelope is `type` alone. */
export const sourceEnvelope = z.looseObject({ type: z.string() });
/** Operators and sinks name what they read in `inputs` (an empty list is a graph error). */
export const operatorEnvelope = z.looseObject({ type: z.string(), inputs });
export const sinkEnvelope = z.looseObject({ type: z.string(), inputs });

const section = <T extends z.ZodType>(envelope: T) => z.record(componentName, envelope);

export const topologySchema = z.strictObject({
  data_dir: z.string().min(1).default(DEFAULT_DATA_DIR),
  api: apiSchema.default({ listen: DEFAULT_API_LISTEN, enabled: true }),
  sources: section(sourceEnvelope).refine((o) => Object.keys(o).length > 0, {
    error: 'at least one source is required',
  }),
  operators: section(operatorEnvelope).optional(),
  sinks: section(sinkEnvelope).refine((o) => Object.keys(o).length > 0, {
    error: 'at least one sink is required',
  }),
});

export type TopologyFile = z.output<typeof topologySchema>;

/** The section of the file each component kind lives in. */
export const SECTION_OF = { source: 'sources', operator: 'operators', sink: 'sinks' } as const;
export type SectionName = (typeof SECTION_OF)[keyof typeof SECTION_OF];
