/**
 * sort_by_label's natural order of label values (the engine's query/promql/engine/natural-sort.ts)
 * as a ClickHouse sort key. A value splits into runs of digits and of non-digits; runs compare
 * pairwise, numerically when both are integers (fewer than 16 digits), else as strings; a value
 * whose runs are a prefix of the other's sorts first. Each run becomes a (String, Float64) tuple
 * and the value the array of them, which ClickHouse compares element by element, shorter first:
 * an integer run is ('0', its number) and any other run (its text, 0). Against a non-digit run
 * only the first characters decide (a digit never equals a non-digit), and every digit is on the
 * same side of a given non-digit character as '0' is, so '0' stands for them all.
 *
 * Two cases have no key: runs of 16 digits or more (the engine compares them as text, also
 * against integer runs) and distinct values whose runs are all equal as numbers ("01" and "1",
 * which the engine's comparator orders both ways round). `naturalKeyless` detects the first;
 * the caller detects the second as equal keys of different values.
 */

const RUNS = `'[0-9]+|[^0-9]+'`;

export function naturalKey(value: string): string {
  return `arrayMap(_nr -> if(match(_nr, '^[0-9]{1,15}$'), ('0', toFloat64(toUInt64(_nr))), (_nr, toFloat64(0))), extractAll(${value}, ${RUNS}))`;
}

export function naturalKeyless(value: string): string {
  return `match(${value}, '[0-9]{16}')`;
}
