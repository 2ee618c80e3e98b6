import { QueryError } from './types.ts';

/**
 * What a running query may spend: samples held in memory (the peak is what `maxSamples`
 * bounds, as in Prometheus), wall-clock time, and the caller's abort signal. The evaluator
 * calls `check()` between series and steps; the cost is a clock read.
 */
export class QueryLimits {
  current = 0;
  peak = 0;
  loaded = 0;
  private checks = 0;

  constructor(
    private readonly maxSamples: number,
    private readonly deadline: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Adds samples now held; throws when over the limit. */
  add(n: number): void {
    this.current += n;
    if (this.current > this.peak) this.peak = this.current;
    if (this.current > this.maxSamples) throw tooManySamples();
  }

  /** Sets the samples now held (after a node's inputs are released). */
  set(n: number): void {
    this.current = n;
    if (n > this.peak) this.peak = n;
    if (n > this.maxSamples) throw tooManySamples();
  }

  /** Counts samples read from storage for the stats. */
  load(n: number): void {
    this.loaded += n;
  }

  check(): void {
    if (this.signal?.aborted) throw canceled(this.signal.reason);
    // Date.now() is cheap, but not free: look at the clock every 64th call.
    if ((++this.checks & 63) === 0 && Date.now() > this.deadline) throw timedOut();
  }

  checkNow(): void {
    if (this.signal?.aborted) throw canceled(this.signal.reason);
    if (Date.now() > this.deadline) throw timedOut();
  }
}

export function tooManySamples(): QueryError {
  return new QueryError('execution', 'query processing would load too many samples into memory in query execution');
}

export function timedOut(): QueryError {
  return new QueryError('timeout', 'query timed out in expression evaluation');
}

export function canceled(reason?: unknown): QueryError {
  return new QueryError('canceled', 'query was canceled in expression evaluation', { cause: reason });
}
