/**
 * Query parameters of one translated statement. User input (label names, matcher values, regexes)
 * only ever reaches ClickHouse as a `{pN:Type}` parameter, sent beside the SQL text, never spliced
 * into it.
 */
export class Params {
  readonly values: Record<string, string | number | readonly string[]> = {};
  private n = 0;

  /** A String parameter; returns its placeholder. */
  string(value: string): string {
    const name = `p${this.n++}`;
    this.values[name] = value;
    return `{${name}:String}`;
  }

  strings(values: readonly string[]): string {
    const name = `p${this.n++}`;
    this.values[name] = [...values];
    return `{${name}:Array(String)}`;
  }

  int(value: number): string {
    if (!Number.isSafeInteger(value)) throw new Error(`bug: ${value} is not a safe integer`);
    const name = `p${this.n++}`;
    this.values[name] = value;
    return `{${name}:Int64}`;
  }
}

/** A float as a ClickHouse literal. Only ever called with a JS number, so it cannot carry SQL. */
export function floatLiteral(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return `toFloat64(${JSON.stringify(v)})`;
}
