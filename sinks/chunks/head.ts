import { compareLabels, hashLabels, labelsEqual, type Labels } from '../../model/labels.ts';
import type { Chunk, ChunkAppender, ChunkDecoder } from './chunk.ts';
import { decoderFor } from './chunk-codecs.ts';
import { PostingsIndex } from './postings.ts';
import { newXorAppender } from './xor-chunk.ts';

/**
 * The in-memory HEAD of the chunk store: the recent samples of every live series, appended to
 * open XOR chunks, with the label index (postings.ts) over them. The WAL (wal/) makes it durable
 * and replays into it through the same calls; blocks are cut from it (`cutReady`,
 * `forEachSeriesInRange`) and then dropped from it (`truncateBefore`).
 *
 * Series ids. The head hands out dense uint32 ids in creation order (`getOrCreate`) and never
 * reuses one, so a WAL record naming an id always means the same series; WAL replay recreates
 * series under their recorded ids (`restoreSeries`). Per-series hot state (max time, last value)
 * lives in typed arrays indexed by id.
 *
 * Append outcomes, for a sample (t, v) of a series whose newest sample is at maxT:
 * - t > maxT: `appended` to the open chunk;
 * - a sample at t already exists (t = maxT, or an older one in a chunk or in the out-of-order
 *   buffer): `duplicate` when the value has the same bits (ignored: redelivery is idempotent),
 *   else `conflict` (rejected);
 * - maxT - outOfOrderWindowMs <= t < maxT: `out_of_order`, accepted into the out-of-order buffer;
 * - older still, or older than the last truncation (checked first): `too_old` (rejected).
 *
 * Chunks. A series has sealed chunks (immutable, sorted, non-overlapping) and one open appender.
 * The open chunk is sealed and a new one started when it holds `samplesPerChunk` samples (120, as
 * in Prometheus) or when the sample crosses the next multiple of `chunkRange` (2h, the block
 * range) after the chunk's first sample: no chunk ever straddles a block boundary, so cutting a
 * block never splits a chunk.
 *
 * Out-of-order samples. Accepted out-of-order samples wait in a small sorted per-series buffer
 * (at most `outOfOrderCapacity`, 32); queries and block cuts merge it with the chunks. When the
 * buffer fills, it is merged into the chunks: the chunks from the first one the buffer reaches
 * onward (the window keeps that to one or two) are decoded, merged with it and re-encoded with
 * the same cutting rules. Memory stays bounded per series and readers merge at most 32 extra
 * samples. (Prometheus keeps separate out-of-order chunks and merges them at read and at
 * compaction; the bounded buffer plus re-encoding is simpler and keeps one chunk list.)
 *
 * Values are stored bit-exactly: the stale NaN and other NaN payloads round-trip.
 *
 * The hot path (`appendBatch` with in-order samples) allocates nothing per sample; a chunk cut
 * allocates the sealed copy and the next appender.
 */

export type AppendResult = 'appended' | 'duplicate' | 'conflict' | 'out_of_order' | 'too_old';

/** Counts of append outcomes; `appended` and `out_of_order` samples were stored. */
export interface AppendCounts {
  appended: number;
  duplicate: number;
  conflict: number;
  out_of_order: number;
  too_old: number;
}

export function newAppendCounts(): AppendCounts {
  return { appended: 0, duplicate: 0, conflict: 0, out_of_order: 0, too_old: 0 };
}

const APPENDED = 0;
const DUPLICATE = 1;
const CONFLICT = 2;
const OUT_OF_ORDER = 3;
const TOO_OLD = 4;
const RESULTS: readonly AppendResult[] = ['appended', 'duplicate', 'conflict', 'out_of_order', 'too_old'];

export interface HeadOptions {
  /** Block range in ms; no chunk crosses a multiple of it. Default 2h. */
  readonly chunkRange?: number;
  /** Samples per chunk before it is cut. Default 120. */
  readonly samplesPerChunk?: number;
  /** How far behind a series' newest sample an older one is still accepted. Default 0 (none). */
  readonly outOfOrderWindowMs?: number;
  /** Out-of-order samples buffered per series before they are merged into its chunks. Default 32. */
  readonly outOfOrderCapacity?: number;
  /** The open-chunk codec. Default XOR. */
  readonly newAppender?: () => ChunkAppender;
  /** Decoders by encoding byte. Default chunk-codecs.ts. */
  readonly decoderFor?: (encoding: number) => ChunkDecoder;
}

/** A series id the head does not hold: the caller kept an id past `truncateBefore` removed it. */
export class UnknownSeriesError extends Error {
  override readonly name = 'UnknownSeriesError';
  constructor(readonly id: number) {
    super(`bug: head series ${id} does not exist (never created, or removed by truncateBefore)`);
  }
}

/** `restoreSeries` with an id the head already uses for other labels: the WAL is inconsistent. */
export class SeriesIdConflictError extends Error {
  override readonly name = 'SeriesIdConflictError';
  constructor(
    readonly id: number,
    readonly labels: Labels,
  ) {
    super(`series id ${id} is already used by other labels than the ones restored`);
  }
}

export interface HeadStats {
  readonly series: number;
  readonly chunksOpen: number;
  readonly chunksSealed: number;
  /** Samples held, out-of-order buffers included. */
  readonly samples: number;
  readonly outOfOrderSamples: number;
  /** Encoded bytes of sealed and open chunks. */
  readonly chunkBytes: number;
  /**
   * Approximate bytes held (V8 heap and array buffers): chunks with their buffers, out-of-order
   * buffers, per-series and per-chunk overheads, the label index.
   */
  readonly heapBytes: number;
  /** Cumulative append outcomes since the head was created. */
  readonly appends: Readonly<AppendCounts>;
  readonly minTime: number;
  readonly maxTime: number;
}

/**
 * Estimated costs on V8 (x64, pointer compression), calibrated against heapUsed + arrayBuffers
 * after gc (bench/head.ts), within about 5%: a series without chunks (its object, chunk array,
 * hash-map entry, typed-array slots; the label index is counted apart), an open appender (its
 * objects; its bit buffer grows by doubling, so it is counted as the next power of two of the
 * bytes written), and a sealed chunk besides its bytes (the `Chunk`, its `Uint8Array` and the
 * off-heap backing store's bookkeeping).
 */
const SERIES_OVERHEAD_BYTES = 450;
const OPEN_CHUNK_OVERHEAD_BYTES = 450;
const SEALED_CHUNK_OVERHEAD_BYTES = 300;

/** One series in the head. */
class MemSeries {
  /** Sealed chunks, oldest first, non-overlapping. */
  readonly sealed: Chunk[] = [];
  open: ChunkAppender | null = null;
  /** The open chunk is cut before a sample at or after this time (the next block boundary). */
  cutAt = 0;
  /** Sorted out-of-order samples, all older than the series' newest sample. */
  oooTs: Float64Array | null = null;
  oooVs: Float64Array | null = null;
  oooLen = 0;

  constructor(
    readonly id: number,
    readonly labels: Labels,
    readonly hash: number,
  ) {}

  /** Time of the oldest sample held; Infinity when empty. */
  minTime(): number {
    let t = this.sealed.length > 0 ? this.sealed[0].minT : this.open !== null && this.open.numSamples > 0 ? this.open.minT : Infinity;
    if (this.oooLen > 0 && this.oooTs![0] < t) t = this.oooTs![0];
    return t;
  }
}

/** A growable pair of sample arrays with a bit view of the values. */
class SampleBuffer {
  ts: Float64Array;
  vs: Float64Array;
  bits: Uint32Array;

  constructor(capacity: number) {
    this.ts = new Float64Array(capacity);
    this.vs = new Float64Array(capacity);
    this.bits = new Uint32Array(this.vs.buffer);
  }

  /** Makes room for `n` samples; the contents are not kept. */
  reserve(n: number): void {
    if (n <= this.ts.length) return;
    let cap = this.ts.length * 2;
    while (cap < n) cap *= 2;
    this.ts = new Float64Array(cap);
    this.vs = new Float64Array(cap);
    this.bits = new Uint32Array(this.vs.buffer);
  }
}

/**
 * Merges two sorted sample runs into `outTs` / `outVs` (room for aLen + bLen) and returns the
 * count. On equal timestamps `a`'s sample is kept and `b`'s dropped. Values are copied between
 * typed arrays, so NaN payloads survive.
 */
export function mergeSamples(
  aTs: Float64Array,
  aVs: Float64Array,
  aLen: number,
  bTs: Float64Array,
  bVs: Float64Array,
  bLen: number,
  outTs: Float64Array,
  outVs: Float64Array,
): number {
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < aLen && j < bLen) {
    const ta = aTs[i];
    const tb = bTs[j];
    if (ta <= tb) {
      outTs[k] = ta;
      outVs[k++] = aVs[i++];
      if (ta === tb) j++;
    } else {
      outTs[k] = tb;
      outVs[k++] = bVs[j++];
    }
  }
  while (i < aLen) {
    outTs[k] = aTs[i];
    outVs[k++] = aVs[i++];
  }
  while (j < bLen) {
    outTs[k] = bTs[j];
    outVs[k++] = bVs[j++];
  }
  return k;
}

/** First index in sorted `ts[0, len)` with `ts[i] >= t`. */
export function lowerBound(ts: Float64Array, len: number, t: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const TWO_HOURS = 2 * 3600 * 1000;

export class Head {
  /** The label index over the head's series ids. */
  readonly index = new PostingsIndex();

  private readonly chunkRange: number;
  private readonly samplesPerChunk: number;
  private readonly oooWindow: number;
  private readonly oooCapacity: number;
  private readonly newAppender: () => ChunkAppender;
  readonly decoderFor: (encoding: number) => ChunkDecoder;

  private series: (MemSeries | undefined)[] = [];
  private nextId = 0;
  private liveSeries = 0;
  /** Newest sample time per id; -Infinity for a series without samples. */
  private maxTs = new Float64Array(1024);
  /** Value of the newest sample per id, and its bits (two words per id, low first). */
  private lastVs = new Float64Array(1024);
  private lastBits = new Uint32Array(this.lastVs.buffer);
  /** Label hash -> id, or ids when hashes collide. */
  private readonly byHash = new Map<number, number | number[]>();
  /** Samples older than this are too old (the last truncation point). */
  private minValidTime = -Infinity;
  private readonly counts = newAppendCounts();

  // Scratch for the slow paths (lookups, out-of-order merges, range reads); reused, never kept.
  private readonly decoded = new SampleBuffer(256);
  private readonly merged = new SampleBuffer(256);
  private readonly vBits = new Uint32Array(2);
  private readonly vScratch = new Float64Array(this.vBits.buffer);

  constructor(options: HeadOptions = {}) {
    this.chunkRange = options.chunkRange ?? TWO_HOURS;
    this.samplesPerChunk = options.samplesPerChunk ?? 120;
    this.oooWindow = options.outOfOrderWindowMs ?? 0;
    this.oooCapacity = Math.max(1, options.outOfOrderCapacity ?? 32);
    this.newAppender = options.newAppender ?? newXorAppender;
    this.decoderFor = options.decoderFor ?? decoderFor;
    if (!(this.chunkRange > 0) || !(this.samplesPerChunk > 0) || !(this.oooWindow >= 0)) {
      throw new RangeError(`head options out of range: chunkRange ${this.chunkRange}, samplesPerChunk ${this.samplesPerChunk}, outOfOrderWindowMs ${this.oooWindow}`);
    }
  }

  // ---- series -------------------------------------------------------------------------------

  /** The id of the series with `labels` (sorted, as model/labels.ts builds them), created if new. */
  getOrCreate(labels: Labels): { id: number; created: boolean } {
    const hash = hashLabels(labels);
    const found = this.lookup(hash, labels);
    if (found >= 0) return { id: found, created: false };
    const id = this.nextId;
    if (id > 0xffffffff) throw new RangeError('head series ids exhausted (2^32)');
    this.insert(id, labels, hash);
    return { id, created: true };
  }

  /** The id of the series with `labels`, or undefined. */
  getId(labels: Labels): number | undefined {
    const id = this.lookup(hashLabels(labels), labels);
    return id >= 0 ? id : undefined;
  }

  /**
   * WAL replay: recreates a series under the id it was logged with. Idempotent for the same
   * labels; an id held by other labels is a `SeriesIdConflictError`.
   */
  restoreSeries(id: number, labels: Labels): void {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`series id ${id} is not a uint32`);
    const existing = this.series[id];
    if (existing !== undefined) {
      if (!labelsEqual(existing.labels, labels)) throw new SeriesIdConflictError(id, labels);
      return;
    }
    const hash = hashLabels(labels);
    if (this.lookup(hash, labels) >= 0) throw new SeriesIdConflictError(id, labels);
    this.insert(id, labels, hash);
  }

  has(id: number): boolean {
    return this.series[id] !== undefined;
  }

  labelsOf(id: number): Labels {
    return this.get(id).labels;
  }

  /** Number of live series. */
  get seriesCount(): number {
    return this.liveSeries;
  }

  /** Live series ids in increasing order. */
  seriesIds(): Uint32Array {
    return this.index.allPostings().slice();
  }

  private lookup(hash: number, labels: Labels): number {
    const hit = this.byHash.get(hash);
    if (hit === undefined) return -1;
    if (typeof hit === 'number') return labelsEqual(this.series[hit]!.labels, labels) ? hit : -1;
    for (const id of hit) if (labelsEqual(this.series[id]!.labels, labels)) return id;
    return -1;
  }

  private insert(id: number, labels: Labels, hash: number): void {
    this.ensureCapacity(id + 1);
    this.series[id] = new MemSeries(id, labels, hash);
    this.maxTs[id] = -Infinity;
    if (id >= this.nextId) this.nextId = id + 1;
    this.liveSeries++;
    const hit = this.byHash.get(hash);
    if (hit === undefined) this.byHash.set(hash, id);
    else if (typeof hit === 'number') this.byHash.set(hash, [hit, id]);
    else hit.push(id);
    this.index.add(id, labels);
  }

  private unlinkHash(s: MemSeries): void {
    const hit = this.byHash.get(s.hash);
    if (hit === s.id) this.byHash.delete(s.hash);
    else if (Array.isArray(hit)) {
      const rest = hit.filter((x) => x !== s.id);
      if (rest.length === 1) this.byHash.set(s.hash, rest[0]);
      else this.byHash.set(s.hash, rest);
    }
  }

  private ensureCapacity(n: number): void {
    if (n <= this.maxTs.length) return;
    let cap = this.maxTs.length * 2;
    while (cap < n) cap *= 2;
    const maxTs = new Float64Array(cap);
    maxTs.set(this.maxTs);
    const lastVs = new Float64Array(cap);
    lastVs.set(this.lastVs); // typed-array copies keep NaN payloads
    this.maxTs = maxTs;
    this.lastVs = lastVs;
    this.lastBits = new Uint32Array(lastVs.buffer);
  }

  private get(id: number): MemSeries {
    const s = this.series[id];
    if (s === undefined) throw new UnknownSeriesError(id);
    return s;
  }

  // ---- appends ------------------------------------------------------------------------------

  /** Appends one sample; see the outcomes above. Throws `UnknownSeriesError` for an unknown id. */
  append(id: number, t: number, v: number): AppendResult {
    const code = this.appendOne(id, t, v);
    this.countCode(this.counts, code);
    return RESULTS[code];
  }

  /**
   * The hot path: appends `length` samples (ids[i], ts[i], values[i]) in order and returns the
   * counts by outcome (into `counts` when given, which is reset first). No per-sample allocation.
   */
  appendBatch(ids: Uint32Array, ts: Float64Array, values: Float64Array, length: number, counts: AppendCounts = newAppendCounts()): AppendCounts {
    let appended = 0;
    let duplicate = 0;
    let conflict = 0;
    let ooo = 0;
    let tooOld = 0;
    for (let i = 0; i < length; i++) {
      switch (this.appendOne(ids[i], ts[i], values[i])) {
        case APPENDED:
          appended++;
          break;
        case DUPLICATE:
          duplicate++;
          break;
        case CONFLICT:
          conflict++;
          break;
        case OUT_OF_ORDER:
          ooo++;
          break;
        default:
          tooOld++;
      }
    }
    counts.appended = appended;
    counts.duplicate = duplicate;
    counts.conflict = conflict;
    counts.out_of_order = ooo;
    counts.too_old = tooOld;
    const c = this.counts;
    c.appended += appended;
    c.duplicate += duplicate;
    c.conflict += conflict;
    c.out_of_order += ooo;
    c.too_old += tooOld;
    return counts;
  }

  private countCode(c: AppendCounts, code: number): void {
    if (code === APPENDED) c.appended++;
    else if (code === DUPLICATE) c.duplicate++;
    else if (code === CONFLICT) c.conflict++;
    else if (code === OUT_OF_ORDER) c.out_of_order++;
    else c.too_old++;
  }

  private appendOne(id: number, t: number, v: number): number {
    const s = this.series[id];
    if (s === undefined) throw new UnknownSeriesError(id);
    const maxT = this.maxTs[id];
    if (t > maxT && t >= this.minValidTime) {
      let app = s.open;
      if (app === null || app.numSamples >= this.samplesPerChunk || t >= s.cutAt) app = this.cut(s, t);
      app.append(t, v);
      this.maxTs[id] = t;
      this.lastVs[id] = v;
      return APPENDED;
    }
    return this.appendSlow(s, id, t, v, maxT);
  }

  /** Seals the open chunk (if any) and starts one for a sample at `t`. */
  private cut(s: MemSeries, t: number): ChunkAppender {
    const open = s.open;
    if (open !== null && open.numSamples > 0) s.sealed.push(open.seal());
    const app = this.newAppender();
    s.open = app;
    s.cutAt = (Math.floor(t / this.chunkRange) + 1) * this.chunkRange;
    return app;
  }

  /** Every case but a new newest sample: existing timestamps, out-of-order, too old. */
  private appendSlow(s: MemSeries, id: number, t: number, v: number, maxT: number): number {
    // Empty series below the truncation point, NaN timestamps, or (defensively) newer than maxT
    // yet below the truncation point.
    if (!(t <= maxT) || t < this.minValidTime) return TOO_OLD;
    this.vScratch[0] = v;
    if (t === maxT) return this.sameBits(this.lastBits, 2 * id) ? DUPLICATE : CONFLICT;
    const at = this.findSample(s, t);
    if (at >= 0) return this.sameBits(this.decoded.bits, 2 * at) ? DUPLICATE : CONFLICT;
    if (t < maxT - this.oooWindow) return TOO_OLD;
    this.insertOutOfOrder(s, t, v);
    return OUT_OF_ORDER;
  }

  /** Whether words[at], words[at + 1] equal the bits of the value in `vScratch`. */
  private sameBits(words: Uint32Array, at: number): boolean {
    return words[at] === this.vBits[0] && words[at + 1] === this.vBits[1];
  }

  /**
   * Finds an existing sample at `t` (older than the newest): its index in `this.decoded`, where
   * its value is copied, or -1. Decodes at most one chunk.
   */
  private findSample(s: MemSeries, t: number): number {
    const dec = this.decoded;
    if (s.oooLen > 0) {
      const i = lowerBound(s.oooTs!, s.oooLen, t);
      if (i < s.oooLen && s.oooTs![i] === t) {
        dec.ts[0] = t;
        dec.vs[0] = s.oooVs![i];
        return 0;
      }
    }
    let chunk: Chunk | null = null;
    const open = s.open;
    if (open !== null && open.numSamples > 0 && t >= open.minT) chunk = open.seal();
    else {
      const sealed = s.sealed;
      let lo = 0;
      let hi = sealed.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sealed[mid].maxT < t) lo = mid + 1;
        else hi = mid;
      }
      if (lo < sealed.length && sealed[lo].minT <= t) chunk = sealed[lo];
    }
    if (chunk === null) return -1;
    dec.reserve(chunk.numSamples);
    const n = this.decoderFor(chunk.encoding)(chunk.data, chunk.numSamples, dec.ts, dec.vs, 0);
    const i = lowerBound(dec.ts, n, t);
    return i < n && dec.ts[i] === t ? i : -1;
  }

  private insertOutOfOrder(s: MemSeries, t: number, v: number): void {
    if (s.oooTs === null) {
      s.oooTs = new Float64Array(this.oooCapacity);
      s.oooVs = new Float64Array(this.oooCapacity);
    }
    const ts = s.oooTs;
    const vs = s.oooVs!;
    const n = s.oooLen;
    const at = lowerBound(ts, n, t);
    ts.copyWithin(at + 1, at, n);
    vs.copyWithin(at + 1, at, n);
    ts[at] = t;
    vs[at] = v;
    s.oooLen = n + 1;
    if (s.oooLen >= this.oooCapacity) this.mergeOutOfOrder(s);
  }

  /**
   * Moves the out-of-order buffer into the chunks: decodes every chunk from the first one whose
   * range reaches the buffer's oldest sample, merges, and re-encodes with the usual cuts.
   */
  private mergeOutOfOrder(s: MemSeries): void {
    const n = s.oooLen;
    if (n === 0) return;
    const oldest = s.oooTs![0];
    const sealed = s.sealed;
    let k = 0;
    while (k < sealed.length && sealed[k].maxT < oldest) k++;
    const open = s.open;
    let total = n;
    for (let i = k; i < sealed.length; i++) total += sealed[i].numSamples;
    if (open !== null) total += open.numSamples;
    const dec = this.decoded;
    const out = this.merged;
    dec.reserve(total);
    out.reserve(total);
    let m = 0;
    for (let i = k; i < sealed.length; i++) m += this.decodeInto(sealed[i], dec, m);
    if (open !== null && open.numSamples > 0) m += this.decodeInto(open.seal(), dec, m);
    const len = mergeSamples(dec.ts, dec.vs, m, s.oooTs!, s.oooVs!, n, out.ts, out.vs);
    sealed.length = k;
    s.open = null;
    s.oooTs = null;
    s.oooVs = null;
    s.oooLen = 0;
    for (let i = 0; i < len; i++) {
      const t = out.ts[i];
      let app = s.open as ChunkAppender | null;
      if (app === null || app.numSamples >= this.samplesPerChunk || t >= s.cutAt) app = this.cut(s, t);
      app.append(t, out.vs[i]);
    }
  }

  private decodeInto(chunk: Chunk, buf: SampleBuffer, offset: number): number {
    return this.decoderFor(chunk.encoding)(chunk.data, chunk.numSamples, buf.ts, buf.vs, offset);
  }

  // ---- truncation ---------------------------------------------------------------------------

  /**
   * Drops every chunk that ends before `mint` (and out-of-order samples before it), then removes
   * the series left without samples, and from now on rejects samples older than `mint` as
   * `too_old`. Returns the removed ids, sorted: the WAL records them, and whoever caches ids
   * (the chunk sink's ref -> id map) must forget them, since the head never reuses an id.
   */
  truncateBefore(mint: number): Uint32Array {
    if (mint > this.minValidTime) this.minValidTime = mint;
    const removed: number[] = [];
    for (let id = 0; id < this.nextId; id++) {
      const s = this.series[id];
      if (s === undefined) continue;
      let k = 0;
      while (k < s.sealed.length && s.sealed[k].maxT < mint) k++;
      if (k > 0) s.sealed.splice(0, k);
      if (s.open !== null && (s.open.numSamples === 0 || s.open.maxT < mint)) s.open = null;
      if (s.oooLen > 0) {
        const drop = lowerBound(s.oooTs!, s.oooLen, mint);
        if (drop > 0) {
          s.oooTs!.copyWithin(0, drop, s.oooLen);
          s.oooVs!.copyWithin(0, drop, s.oooLen);
          s.oooLen -= drop;
        }
        if (s.oooLen === 0) {
          s.oooTs = null;
          s.oooVs = null;
        }
      }
      if (s.sealed.length === 0 && s.open === null && s.oooLen === 0) removed.push(id);
    }
    const ids = Uint32Array.from(removed);
    this.index.remove(ids, (id) => this.series[id]!.labels);
    for (const id of removed) {
      this.unlinkHash(this.series[id]!);
      this.series[id] = undefined;
      this.maxTs[id] = -Infinity;
      this.liveSeries--;
    }
    return ids;
  }

  // ---- reads --------------------------------------------------------------------------------

  /** Newest sample time of a series; -Infinity when it has none. */
  seriesMaxTime(id: number): number {
    this.get(id);
    return this.maxTs[id];
  }

  /** Oldest sample time of a series; Infinity when it has none. */
  seriesMinTime(id: number): number {
    return this.get(id).minTime();
  }

  /** Oldest sample time in the head; Infinity when empty. O(series). */
  minTime(): number {
    let t = Infinity;
    for (let id = 0; id < this.nextId; id++) {
      const s = this.series[id];
      if (s === undefined) continue;
      const m = s.minTime();
      if (m < t) t = m;
    }
    return t;
  }

  /** Newest sample time in the head; -Infinity when empty. O(series). */
  maxTime(): number {
    let t = -Infinity;
    for (let id = 0; id < this.nextId; id++) if (this.series[id] !== undefined && this.maxTs[id] > t) t = this.maxTs[id];
    return t;
  }

  /**
   * The chunks of a series that overlap [mint, maxt] (inclusive), oldest first: its sealed
   * chunks and a sealed snapshot of the open one. Immutable, safe to keep while appends go on.
   * Out-of-order samples are not in them: see `outOfOrderInRange`.
   */
  chunksInRange(id: number, mint: number, maxt: number): Chunk[] {
    const s = this.get(id);
    const out: Chunk[] = [];
    for (const c of s.sealed) if (c.maxT >= mint && c.minT <= maxt) out.push(c);
    const open = s.open;
    if (open !== null && open.numSamples > 0 && open.maxT >= mint && open.minT <= maxt) out.push(open.seal());
    return out;
  }

  /** Copies of the series' buffered out-of-order samples in [mint, maxt], sorted. */
  outOfOrderInRange(id: number, mint: number, maxt: number): { ts: Float64Array; values: Float64Array } {
    const s = this.get(id);
    if (s.oooLen === 0) return { ts: new Float64Array(0), values: new Float64Array(0) };
    const from = lowerBound(s.oooTs!, s.oooLen, mint);
    let to = lowerBound(s.oooTs!, s.oooLen, maxt);
    if (to < s.oooLen && s.oooTs![to] === maxt) to++;
    return { ts: s.oooTs!.slice(from, to), values: s.oooVs!.slice(from, to) };
  }

  /**
   * For a block writer: calls `fn` for every series with samples in [mint, maxt) (half-open, as
   * block ranges are), in label order, with all its samples in the range, out-of-order ones
   * merged in, sorted. The arrays are scratch reused for the next series: copy what you keep.
   */
  forEachSeriesInRange(
    mint: number,
    maxt: number,
    fn: (id: number, labels: Labels, ts: Float64Array, values: Float64Array, length: number) => void,
  ): void {
    const ids: number[] = [];
    for (let id = 0; id < this.nextId; id++) {
      const s = this.series[id];
      if (s !== undefined && this.maxTs[id] >= mint && s.minTime() < maxt) ids.push(id);
    }
    ids.sort((a, b) => compareLabels(this.series[a]!.labels, this.series[b]!.labels));
    const dec = this.decoded;
    const out = this.merged;
    for (const id of ids) {
      const s = this.series[id]!;
      const chunks = this.chunksInRange(id, mint, maxt - 1);
      let total = 0;
      for (const c of chunks) total += c.numSamples;
      dec.reserve(total);
      let m = 0;
      for (const c of chunks) m += this.decodeInto(c, dec, m);
      let from = lowerBound(dec.ts, m, mint);
      let to = lowerBound(dec.ts, m, maxt);
      let ts = dec.ts;
      let vs = dec.vs;
      if (s.oooLen > 0) {
        const of = lowerBound(s.oooTs!, s.oooLen, mint);
        const ot = lowerBound(s.oooTs!, s.oooLen, maxt);
        if (ot > of) {
          out.reserve(to - from + ot - of);
          const len = mergeSamples(
            dec.ts.subarray(from, to),
            dec.vs.subarray(from, to),
            to - from,
            s.oooTs!.subarray(of, ot),
            s.oooVs!.subarray(of, ot),
            ot - of,
            out.ts,
            out.vs,
          );
          ts = out.ts;
          vs = out.vs;
          from = 0;
          to = len;
        }
      }
      if (to <= from) continue;
      if (from > 0) {
        ts.copyWithin(0, from, to);
        vs.copyWithin(0, from, to);
      }
      fn(id, s.labels, ts, vs, to - from);
    }
  }

  /**
   * The oldest block range [mint, maxt) (aligned to `blockRange`) that is ready to be written:
   * the head holds data half a block past its end, and the out-of-order window no longer reaches
   * into it. Null when none is. After writing it, call `truncateBefore(maxt)`.
   */
  cutReady(blockRange: number): { mint: number; maxt: number } | null {
    const minT = this.minTime();
    const maxT = this.maxTime();
    if (minT === Infinity) return null;
    const mint = Math.floor(minT / blockRange) * blockRange;
    const maxt = mint + blockRange;
    if (maxT >= maxt + blockRange / 2 && maxT - this.oooWindow >= maxt) return { mint, maxt };
    return null;
  }

  // ---- self-metrics -------------------------------------------------------------------------

  stats(): HeadStats {
    let open = 0;
    let sealed = 0;
    let samples = 0;
    let ooo = 0;
    let chunkBytes = 0;
    let extra = 0;
    let sealedBytes = 0;
    for (let id = 0; id < this.nextId; id++) {
      const s = this.series[id];
      if (s === undefined) continue;
      sealed += s.sealed.length;
      for (const c of s.sealed) {
        samples += c.numSamples;
        chunkBytes += c.data.byteLength;
        sealedBytes += c.data.byteLength;
      }
      if (s.open !== null) {
        open++;
        samples += s.open.numSamples;
        chunkBytes += s.open.byteLength;
        extra += OPEN_CHUNK_OVERHEAD_BYTES + 2 ** Math.ceil(Math.log2(Math.max(64, s.open.byteLength)));
      }
      samples += s.oooLen;
      ooo += s.oooLen;
      if (s.oooTs !== null) extra += 16 * s.oooTs.length;
    }
    const heapBytes =
      sealedBytes +
      extra +
      this.liveSeries * SERIES_OVERHEAD_BYTES +
      sealed * SEALED_CHUNK_OVERHEAD_BYTES +
      this.index.stats().bytes +
      16 * this.maxTs.length;
    return {
      series: this.liveSeries,
      chunksOpen: open,
      chunksSealed: sealed,
      samples,
      outOfOrderSamples: ooo,
      chunkBytes,
      heapBytes,
      appends: { ...this.counts },
      minTime: this.minTime(),
      maxTime: this.maxTime(),
    };
  }
}
