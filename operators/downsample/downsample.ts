import { join } from 'node:path';
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { AckHandle, type AckOutcome } from '../../model/ack.ts';
import type { RollupBatch } from '../../model/rollup-batch.ts';
import type { SampleBatch } from '../../model/sample-batch.ts';
import type { ComponentContext, OperatorComponent, OperatorInstance } from '../../pipelines/component.ts';
import { downsampleConfigSchema, type DownsampleConfig } from '../../schemas/downsample.ts';
import { downsampleMetrics, type DownsampleMetrics } from './downsample-metrics.ts';
import { DownsampleState, type PendingRollups } from './downsample-state.ts';
import { StateFiles, type StateFileError } from './state-files.ts';

/**
 * The `downsample` operator: raw samples in, event-time rollups out (count, sum, min, max,
 * reset-corrected counter, first and last sample per series and window), one rollup batch per
 * resolution per tenant each time windows close on the watermark. Durability argument and file
 * formats: README.md beside this file.
 *
 * The state machine is `DownsampleState` (pure); `DownsampleRunner` adds the files and the acks
 * around it, and the RxJS part is only the Observable at the bottom that feeds the runner.
 */

/** The checkpoint directory holds state written under a different configuration. */
export class DownsampleConfigError extends Error {
  override readonly name = 'DownsampleConfigError';
}

export interface DownsampleOptions {
  /** Timers for re-emission backoff (RxJS TestScheduler / VirtualTimeScheduler in tests). */
  readonly scheduler?: SchedulerLike;
}

export interface DownsampleInstance extends OperatorInstance<SampleBatch, RollupBatch> {
  /** Resolves once the operator's files are closed (after its output completed, errored or was unsubscribed). */
  closed(): Promise<void>;
}

interface Output {
  next(batch: RollupBatch): void;
  error(error: Error): void;
  complete(): void;
}

/** Inputs applied to the state whose log records are not durable yet: acked and emitted once they are. */
interface Held {
  readonly seq: number;
  readonly ack?: AckHandle;
  readonly closed: readonly PendingRollups[];
}

const fmt = (ms: number) => `${ms}ms`;

class DownsampleRunner {
  private state!: DownsampleState;
  private files!: StateFiles;
  private readonly held: Held[] = [];
  /** Pending batches emitted whose ack has not settled yet, by id. */
  private readonly inFlight = new Set<number>();
  private readonly retries = new Map<number, Subscription>();
  private failure: Error | undefined;
  private stopping = false;
  private dead = false;
  private quiet: (() => void) | undefined;
  private readonly own: DownsampleMetrics;

  constructor(
    private readonly config: DownsampleConfig,
    private readonly ctx: ComponentContext,
    private readonly out: Output,
    private readonly scheduler: SchedulerLike,
  ) {
    this.own = downsampleMetrics(ctx.metrics.registry, ctx.name);
  }

  get dir(): string {
    return this.config.checkpoint_dir ?? join(this.ctx.dataDir, this.ctx.name);
  }

  private opening: Promise<void> | undefined;

  /** Reads what a previous run left, rebuilds the state, checkpoints it, re-emits what is owed. */
  open(): Promise<void> {
    this.opening ??= this.recover();
    return this.opening;
  }

  private async recover(): Promise<void> {
    const { registry, logger, metrics } = this.ctx;
    const { files, recovered } = await StateFiles.open(
      this.dir,
      (labels) => registry.intern(labels),
      (ref) => registry.labels(ref),
      {
        onDurable: (seq) => this.durable(seq),
        onFailure: (error) => this.fail(error),
        onCheckpoint: ({ seconds, bytes }) => this.own.checkpoint(seconds, bytes),
      },
    );
    this.files = files;
    if (this.dead) {
      await files.close();
      return;
    }
    for (const d of recovered.damage) {
      metrics.error('state_damaged');
      logger.error(d, `downsample state file ${d.file} is damaged at byte ${d.offset} (${d.reason}); using the part before it, ${d.bytesDropped} bytes dropped`);
    }
    const snap = recovered.snapshot;
    if (snap && !sameResolutions(snap.resolutions, this.config.resolutions)) {
      await files.close();
      throw new DownsampleConfigError(
        `downsample ${this.ctx.name}: the checkpoint in ${this.dir} holds rollups at resolutions [${snap.resolutions.map(fmt).join(', ')}], ` +
          `the config asks for [${this.config.resolutions.map(fmt).join(', ')}]; restore the resolutions, or move the directory away to start afresh`,
      );
    }
    const state = snap ? DownsampleState.restore(snap) : new DownsampleState(this.config.resolutions);
    for (const r of recovered.records) {
      if (r.type === 'samples') state.ingest(r.tenant, r.refs, r.ts, r.values, r.refs.length, r.watermark);
      else if (r.type === 'settled') state.settle(r.id);
      else state.flushAll();
    }
    this.state = state;
    if (snap || recovered.records.length > 0) {
      logger.info(
        { dir: this.dir, logs: recovered.logs.length, replayed: recovered.records.length, pending: state.pendingCount, watermark: state.watermark },
        'downsample state restored',
      );
    }
    // A fresh snapshot first: this process then appends only to a log of its own.
    files.checkpoint(state.snapshot());
    const owed = state.pendingBatches();
    this.own.reemitted(owed.length);
    for (const p of owed) this.emit(p, 0);
  }

  push(batch: SampleBatch): void {
    if (this.dead) return; // dropped without a stop: like a crash, the source redelivers
    if (this.failure) {
      batch.ack.fail(this.failure);
      return;
    }
    const { metrics } = this.ctx;
    const started = performance.now();
    metrics.received(batch.length);
    const watermark = Math.max(this.state.watermark, batch.watermark - this.config.allowed_lateness);
    const seq = this.files.logSamples(batch.tenant, batch.refs, batch.ts, batch.values, batch.length, watermark);
    const { closed, counts } = this.state.ingest(batch.tenant, batch.refs, batch.ts, batch.values, batch.length, watermark);
    metrics.discarded('stale_marker', counts.staleSkipped);
    metrics.discarded('too_late', counts.tooLate);
    this.held.push({ seq, ack: batch.ack, closed });
    // A snapshot at every close keeps the log short: it holds only the open windows' inputs.
    if (closed.length > 0 || this.files.logBytes >= this.config.checkpoint_max_log_bytes) this.files.checkpoint(this.state.snapshot());
    else this.files.sync();
    metrics.setWatermark(watermark);
    metrics.batchSeconds((performance.now() - started) / 1000);
  }

  /** The input completed: checkpoint (flushing first if configured), wait for what is owed, complete. */
  async finish(): Promise<void> {
    this.stopping = true;
    if (this.failure) return;
    if (this.config.flush_on_stop) {
      const seq = this.files.logFlush();
      this.held.push({ seq, closed: this.state.flushAll() });
    }
    this.files.checkpoint(this.state.snapshot());
    await new Promise<void>((resolve) => {
      this.quiet = resolve;
      this.checkQuiet();
    });
    if (this.failure) return;
    for (const timer of this.retries.values()) timer.unsubscribe();
    this.retries.clear();
    // What failed while stopping stays pending in this snapshot; the next run emits it.
    this.files.checkpoint(this.state.snapshot());
    await this.files.close();
    this.ctx.logger.info({ pending: this.state.pendingCount, watermark: this.state.watermark }, 'downsample state checkpointed at stop');
    this.out.complete();
  }

  /** Unsubscribed: stop at once, leaving the files as they are (a later run recovers from them). */
  async abandon(): Promise<void> {
    this.dead = true;
    for (const timer of this.retries.values()) timer.unsubscribe();
    this.retries.clear();
    await this.opening?.catch(() => {}); // recovery closes the files itself when it sees `dead`
    await this.files?.abandon();
  }

  private durable(seq: number): void {
    while (this.held.length > 0 && this.held[0].seq <= seq) {
      const h = this.held.shift()!;
      h.ack?.done();
      for (const p of h.closed) {
        this.ctx.metrics.sent(p.rollups.length);
        this.emit(p, 0);
      }
    }
    this.checkQuiet();
  }

  private emit(p: PendingRollups, attempt: number): void {
    if (this.dead || this.failure) return;
    this.inFlight.add(p.id);
    this.own.setPending(this.state.pendingCount);
    const ack = new AckHandle((outcome) => this.settled(p, attempt, outcome));
    this.out.next({ kind: 'rollups', resolutionMs: p.resolutionMs, rollups: p.rollups, length: p.rollups.length, tenant: p.tenant, ack, watermark: p.watermark });
  }

  private settled(p: PendingRollups, attempt: number, outcome: AckOutcome): void {
    this.inFlight.delete(p.id);
    if (this.dead || this.failure) return;
    if (outcome.ok) {
      this.state.settle(p.id);
      // Best effort: if this record is lost, a restart emits the batch once more (idempotent downstream).
      this.files.logSettled(p.id);
      this.files.sync();
    } else {
      this.ctx.metrics.error('rollup_write_failed');
      if (this.stopping) {
        this.ctx.logger.warn({ err: outcome.error, tenant: p.tenant, resolutionMs: p.resolutionMs }, 'rollup write failed while stopping; kept for the next run');
      } else {
        const delay = Math.min(this.config.retry_backoff * 2 ** attempt, this.config.retry_backoff_max);
        this.ctx.logger.warn({ err: outcome.error, tenant: p.tenant, resolutionMs: p.resolutionMs, retryInMs: delay }, 'rollup write failed; emitting it again after a backoff');
        this.retries.set(
          p.id,
          this.scheduler.schedule(() => {
            this.retries.delete(p.id);
            this.own.reemitted(1);
            this.emit(p, attempt + 1);
          }, delay),
        );
      }
    }
    this.own.setPending(this.state.pendingCount);
    this.checkQuiet();
  }

  private fail(error: StateFileError): void {
    this.failure = error;
    for (const h of this.held.splice(0)) h.ack?.fail(error);
    this.ctx.metrics.error('state_write_failed');
    const resolve = this.quiet;
    this.quiet = undefined;
    resolve?.();
    this.out.error(error);
  }

  private checkQuiet(): void {
    if (this.quiet && this.held.length === 0 && this.inFlight.size === 0) {
      const resolve = this.quiet;
      this.quiet = undefined;
      resolve();
    }
  }
}

function sameResolutions(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Builds a downsample operator instance; `options` lets tests drive the backoff timers. */
export function createDownsample(config: DownsampleConfig, ctx: ComponentContext, options: DownsampleOptions = {}): DownsampleInstance {
  const scheduler = options.scheduler ?? asyncScheduler;
  const runs: Promise<void>[] = [];
  return {
    closed: async () => {
      await Promise.all(runs);
    },
    apply: (input) =>
      new Observable<RollupBatch>((subscriber) => {
        const runner = new DownsampleRunner(config, ctx, subscriber, scheduler);
        let closeFiles!: (p: Promise<void>) => void;
        runs.push(new Promise<void>((resolve) => (closeFiles = (p) => void p.then(resolve, () => resolve()))));
        let ended = false;
        const endWith = (p: Promise<void>) => {
          if (ended) return;
          ended = true;
          closeFiles(p);
        };
        // The input may be a hot stream: subscribe at once and hold batches while recovering.
        let ready = false;
        let inputDone = false;
        const early: SampleBatch[] = [];
        const finish = () => endWith(runner.finish().catch((error: unknown) => subscriber.error(error)));
        const sub = input.subscribe({
          next: (batch) => {
            if (ready) runner.push(batch);
            else early.push(batch);
          },
          error: (error) => subscriber.error(error),
          complete: () => {
            inputDone = true;
            if (ready) finish();
          },
        });
        runner.open().then(
          () => {
            if (ended) return; // unsubscribed while recovering
            ready = true;
            for (const batch of early.splice(0)) runner.push(batch);
            if (inputDone) finish();
          },
          (error: unknown) => {
            const failure = error instanceof Error ? error : new Error(String(error));
            for (const batch of early.splice(0)) batch.ack.fail(failure);
            subscriber.error(failure);
          },
        );
        return () => {
          sub.unsubscribe();
          // Unsubscribed before the graceful end (or after an error): stop where it stands.
          endWith(runner.abandon());
        };
      }),
  };
}

export const downsampleOperator: OperatorComponent<DownsampleConfig, SampleBatch, RollupBatch> = {
  kind: 'operator',
  accepts: ['samples'],
  emits: 'rollups',
  type: 'downsample',
  description:
    'Rolls raw samples up into event-time windows per resolution (count, sum, min, max, reset-corrected counter, first/last), closed on the watermark; checkpointed so a restart neither loses nor double counts a window.',
  schema: downsampleConfigSchema,
  build: (config, ctx) => createDownsample(config, ctx),
};
