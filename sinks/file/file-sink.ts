import { open, type FileHandle } from 'node:fs/promises';
import type { SampleBatch } from '../../model/sample-batch.ts';
import { isStaleNaN } from '../../model/stale-nan.ts';
import type { ComponentContext, SinkComponent, SinkInstance } from '../../pipelines/component.ts';
import { fileSinkConfig, type FileSinkConfig } from '../../schemas/file-sink.ts';

export const fileSink: SinkComponent<FileSinkConfig> = {
  kind: 'sink',
  accepts: ['samples'],
  type: 'file',
  description: 'Appends samples to a JSON lines file, one sample per line, fsynced before acknowledging.',
  schema: fileSinkConfig,
  build: (config, ctx) => new FileSink(config, ctx),
};

/**
 * One line per sample: `{"tenant":"acme","labels":{"__name__":"up","job":"node"},"timestamp":1700000000000,"value":1}`.
 * Values JSON cannot hold are strings: "NaN", "+Inf", "-Inf", and "stale" for a staleness marker.
 */
export function formatSampleValue(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return isStaleNaN(value) ? 'stale' : 'NaN';
}

class FileSink implements SinkInstance {
  private handle: FileHandle | undefined;
  /** Per series ref: the `"labels":{...}` fragment, rendered once. */
  private readonly labelsJson: string[] = [];

  constructor(
    private readonly config: FileSinkConfig,
    private readonly ctx: ComponentContext,
  ) {}

  async start(): Promise<void> {}

  async write(batch: SampleBatch): Promise<void> {
    const tenant = JSON.stringify(batch.tenant);
    let out = '';
    for (let i = 0; i < batch.length; i++) {
      const ref = batch.refs[i];
      const labels = (this.labelsJson[ref] ??= JSON.stringify(Object.fromEntries(pairs(this.ctx.registry.labels(ref)))));
      const value = formatSampleValue(batch.values[i]);
      out += `{"tenant":${tenant},"labels":${labels},"timestamp":${batch.ts[i]},"value":${typeof value === 'number' ? value : `"${value}"`}}\n`;
    }
    // Opened lazily and dropped after a failure, so a missing directory or a full disk fails this
    // batch (it is redelivered) and a later write tries again.
    try {
      this.handle ??= await open(this.config.path, 'a');
      await this.handle.appendFile(out);
      if (this.config.fsync) await this.handle.datasync();
    } catch (error) {
      const handle = this.handle;
      this.handle = undefined;
      await handle?.close().catch(() => {});
      throw new Error(`file sink cannot write ${this.config.path}: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

function* pairs(labels: readonly string[]): Iterable<[string, string]> {
  for (let i = 0; i < labels.length; i += 2) yield [labels[i], labels[i + 1]];
}
