import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { eventually } from '../../test/harness/eventually.ts';
import { DownsampleConfigError, downsampleOperator } from './downsample.ts';
import { startDownsample } from './downsample-test-kit.ts';
import { logFileName, SNAPSHOT_FILE } from './state-files.ts';

const M = 60_000;
const H = 60 * M;

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sluice-downsample-op-'));
  dirs.push(d);
  return d;
}

type Run = ReturnType<typeof startDownsample>;
const shape = (run: Run) => run.emitted.map((b) => `${b.tenant} ${b.resolutionMs / M}m ${b.rollups.map((r) => `s${run.registry.labels(r.ref)[3].slice(1)}@${r.start / M}`).join(',')}`);

describe('downsample operator', () => {
  it('is registered as an operator from samples to rollups', () => {
    expect(downsampleOperator).toMatchObject({ kind: 'operator', type: 'downsample', accepts: ['samples'], emits: 'rollups' });
  });

  it('acknowledges an input batch only once its samples are durable in its own files', async () => {
    const dir = await tempDir();
    const run = startDownsample({ dir });
    const a = run.send('t', [[1, 0, 1], [1, M, 2]], -Infinity);
    expect(a.outcome).toBe('pending'); // not synchronously: the log is not written yet
    await eventually(() => a.outcome === 'ok', 'the input ack');
    const log = join(dir, 'rollup', logFileName(2));
    expect((await stat(log)).size).toBeGreaterThan(8 + 64); // header + the series and samples records
    // Durable means a new run over the same files has them.
    await run.kill();
    const next = startDownsample({ dir, config: { flush_on_stop: true } });
    await next.stop();
    expect(shape(next)).toEqual(['t 5m s1@0', 't 60m s1@0']);
    expect(next.emitted[0].rollups[0]).toMatchObject({ count: 2, sum: 3 });
  });

  it('closes windows on the watermark plus allowed_lateness, one batch per resolution per tenant', async () => {
    const dir = await tempDir();
    const run = startDownsample({ dir, config: { allowed_lateness: '2m' } });
    run.send('a', [[1, M, 1], [2, 2 * M, 5]], 2 * M);
    run.send('b', [[1, 3 * M, 7]], 3 * M);
    // Source watermark 6m, minus 2m: the [0, 5m) windows stay open.
    const c = run.send('a', [[1, 6 * M, 2]], 6 * M);
    await eventually(() => c.outcome === 'ok', 'input acks');
    expect(run.emitted).toEqual([]);
    // 7m - 2m = 5m closes [0, 5m) for both tenants; the hour stays open.
    run.send('b', [[1, 8 * M, 1]], 7 * M);
    await eventually(() => run.emitted.length === 2, 'two 5m batches');
    expect(shape(run)).toEqual(['a 5m s1@0,s2@0', 'b 5m s1@0']);
    const last = run.send('a', [[1, 62 * M, 3]], 62 * M);
    await eventually(() => last.outcome === 'ok' && run.emitted.length === 6, 'the hour closing');
    expect(shape(run).slice(2)).toEqual(['a 5m s1@5', 'a 60m s1@0,s2@0', 'b 5m s1@5', 'b 60m s1@0']);
    expect(run.emitted.every((b) => b.watermark >= 5 * M && b.length === b.rollups.length)).toBe(true);
    await run.stop();
    expect(run.completed).toBe(true);
  });

  it('emits a rollup batch again after a backoff when its write failed, and forgets it once acknowledged', async () => {
    const dir = await tempDir();
    const scheduler = new VirtualTimeScheduler();
    const run = startDownsample({ dir, scheduler, config: { retry_backoff: '2s' }, policy: (_b, attempt) => (attempt < 2 ? 'fail' : 'ok') });
    run.send('t', [[1, 0, 1]], -Infinity);
    run.send('t', [[1, 5 * M, 2]], 5 * M);
    await eventually(() => run.emitted.length === 1, 'the first emission');
    await eventually(async () => (await run.metric('sluice_component_errors_total', { reason: 'rollup_write_failed' })) === 1, 'the failure');
    expect(run.emitted).toHaveLength(1); // nothing until the backoff passes
    scheduler.maxFrames = 2_000;
    scheduler.flush();
    expect(scheduler.frame).toBe(2_000);
    await eventually(() => run.emitted.length === 2, 'the second emission');
    await eventually(async () => (await run.metric('sluice_component_errors_total', { reason: 'rollup_write_failed' })) === 2, 'the second failure');
    scheduler.maxFrames = Infinity;
    scheduler.flush();
    expect(scheduler.frame).toBe(2_000 + 4_000); // the delay doubled
    await eventually(() => run.acked.length === 1, 'the third attempt acknowledged');
    expect(run.emitted.map((b) => b.rollups)).toEqual([run.emitted[0].rollups, run.emitted[0].rollups, run.emitted[0].rollups]);
    expect(await run.metric('sluice_downsample_reemitted_batches_total')).toBe(2);
    await eventually(async () => (await run.metric('sluice_downsample_pending_rollup_batches')) === 0, 'nothing pending');
    await run.stop();
  });

  it('on a graceful stop checkpoints open windows without emitting them; the next run continues them', async () => {
    const dir = await tempDir();
    const first = startDownsample({ dir });
    first.send('t', [[1, 0, 1], [1, M, 2]], M);
    await first.stop();
    expect(first.emitted).toEqual([]);
    expect(first.completed).toBe(true);
    expect((await readdir(join(dir, 'rollup'))).sort()).toEqual([SNAPSHOT_FILE]);

    const second = startDownsample({ dir });
    second.send('t', [[1, 2 * M, 4], [1, H, 1]], H);
    await eventually(() => second.emitted.length === 2, 'the windows closing in the second run');
    expect(second.emitted[0].rollups[0]).toMatchObject({ count: 3, sum: 7, firstV: 1, lastV: 4, counter: 4 });
    expect(second.emitted[1].rollups[0]).toMatchObject({ start: 0, count: 3, sum: 7 });
    await second.stop();
  });

  it('with flush_on_stop emits the open windows at a graceful stop, and counts a later sample for them as too late', async () => {
    const dir = await tempDir();
    const first = startDownsample({ dir, config: { flush_on_stop: true } });
    first.send('t', [[1, 0, 1]], 0);
    await first.stop();
    expect(shape(first)).toEqual(['t 5m s1@0', 't 60m s1@0']);
    expect(first.acked).toHaveLength(2);

    const second = startDownsample({ dir });
    const late = second.send('t', [[1, M, 2]], M);
    await eventually(() => late.outcome === 'ok', 'the ack');
    expect(await second.metric('sluice_component_discarded_samples_total', { reason: 'too_late' })).toBe(1);
    await second.stop();
    expect(second.emitted).toEqual([]); // nothing owed: the first run's batches were acknowledged
  });

  it('keeps a rollup batch whose ack is still out at a stop, and emits it again in the next run', async () => {
    const dir = await tempDir();
    const first = startDownsample({ dir, policy: () => 'hold' });
    first.send('t', [[1, 0, 1]], 5 * M);
    await eventually(() => first.held.length === 1, 'the emission');
    const stopped = first.stop();
    // The stop waits for the ack; the sink fails it.
    first.held[0].ack.fail(new Error('test sink: down'));
    await stopped;
    const second = startDownsample({ dir });
    await eventually(() => second.acked.length === 1, 'the batch emitted again and acknowledged');
    expect(second.emitted[0].rollups).toEqual(first.held[0].rollups);
    await second.stop();
  });

  it('counts samples in, rollups out, stale markers and too-late samples, and checkpoints', async () => {
    const dir = await tempDir();
    const run = startDownsample({ dir, config: { resolutions: ['5m'] } });
    run.send('t', [[1, 0, 1], [1, M, NaN], [2, M, 3]], 10 * M);
    const last = run.send('t', [[1, 2 * M, 1]], 10 * M);
    await eventually(() => last.outcome === 'ok' && run.acked.length === 2, 'the acks');
    const labels = { component: 'rollup', type: 'downsample' };
    expect(await run.metric('sluice_component_received_samples_total', labels)).toBe(4);
    expect(await run.metric('sluice_component_sent_samples_total', labels)).toBe(2);
    expect(await run.metric('sluice_component_discarded_samples_total', { ...labels, reason: 'stale_marker' })).toBe(1);
    expect(await run.metric('sluice_component_discarded_samples_total', { ...labels, reason: 'too_late' })).toBe(1);
    // Snapshots asked for at open and at the close may share one write: at least one happened.
    const before = await run.metric('sluice_downsample_checkpoints_total', { component: 'rollup' });
    expect(before).toBeGreaterThanOrEqual(1);
    expect(await run.metric('sluice_downsample_checkpoint_bytes', { component: 'rollup' })).toBeGreaterThan(8);
    await run.stop();
    expect(await run.metric('sluice_downsample_checkpoints_total', { component: 'rollup' })).toBeGreaterThan(before);
  });

  it('refuses a checkpoint written under other resolutions, saying what to do', async () => {
    const dir = await tempDir();
    const first = startDownsample({ dir });
    first.send('t', [[1, 0, 1]], 0);
    await first.stop();
    const second = startDownsample({ dir, config: { resolutions: ['1m', '1h'] } });
    const pending = second.send('t', [[1, M, 1]], M);
    await eventually(() => second.error !== undefined, 'the error');
    expect(second.error).toBeInstanceOf(DownsampleConfigError);
    expect(String(second.error)).toMatch(/resolutions \[300000ms, 3600000ms\], the config asks for \[60000ms, 3600000ms\]; restore the resolutions, or move the directory away/);
    expect(pending.outcome).toBe('failed');
    await second.instance.closed();
  });
});
