/**
 * topk / bottomk as the engine selects (query/promql/engine/aggregations.ts aggregateK): a binary
 * heap of size k fed the group's samples in input order, with Go container/heap's push / fix
 * order. Which of several tied samples survives depends on where they sit in the heap when a
 * larger one arrives (it is neither the first nor the last of the ties), so the heap itself is
 * replayed in SQL: an `arrayFold` over the group's values whose accumulator is the heap, an
 * Array(UInt32) of 1-based positions into the values array.
 *
 * ClickHouse lambdas cannot loop, so a sift (up or down) is an inner `arrayFold` over as many
 * rounds as the heap has levels, carrying (heap, position) and stopping (position -1) once the
 * heap property holds. A swap copies the heap (arrays are values), so one sample costs O(k log k):
 * fine for the k of dashboards, quadratic for a k near the number of series.
 *
 * Every builder receives SQL fragments the translator wrote (column names, parameters), never
 * user text.
 */

/** Whether the sample at position `a` sorts below the one at `b` in the heap (its `less`): NaN is smallest. */
function lessAt(vs: string, bottom: boolean, a: string, b: string): string {
  return `(isNaN(${vs}[${a}]) OR ${vs}[${a}] ${bottom ? '>' : '<'} ${vs}[${b}])`;
}

/** `h` with its 0-based positions `a` and `b` exchanged. */
function swap(h: string, a: string, b: string): string {
  return `arrayMap((_hx, _hn) -> if(_hn = ${a} + 1, ${h}[${b} + 1], if(_hn = ${b} + 1, ${h}[${a} + 1], _hx)), ${h}, arrayEnumerate(${h}))`;
}

/** Rounds enough for a sift through every level of a heap of `n` items. */
function levels(n: string): string {
  return `range(toUInt32(floor(log2(greatest(${n}, 1)))) + 1)`;
}

/** Go's heap.up from the last item of `h`. */
function siftUp(vs: string, bottom: boolean, h: string): string {
  const parent = 'intDiv(_us.2 - 1, 2)';
  const round = `(_us, _ur) -> if(_us.2 > 0 AND ${lessAt(vs, bottom, '_us.1[_us.2 + 1]', `_us.1[${parent} + 1]`)}, (${swap('_us.1', '_us.2', parent)}, toInt64(${parent})), (_us.1, toInt64(-1)))`;
  return `tupleElement(arrayFold(${round}, ${levels(`length(${h})`)}, (${h}, toInt64(length(${h})) - 1)), 1)`;
}

/** Go's heap.Fix(h, 0) after the top was replaced: down from 0 (an item that moved down never needs to go up). */
function siftDown(vs: string, bottom: boolean, h: string): string {
  const left = '(2 * _ds.2 + 1)';
  const right = '(2 * _ds.2 + 2)';
  const child = `if(${right} < length(_ds.1) AND ${lessAt(vs, bottom, `_ds.1[${right} + 1]`, `_ds.1[${left} + 1]`)}, ${right}, ${left})`;
  const round = `(_ds, _dr) -> if(_ds.2 >= 0 AND ${left} < length(_ds.1) AND ${lessAt(vs, bottom, `_ds.1[${child} + 1]`, '_ds.1[_ds.2 + 1]')}, (${swap('_ds.1', '_ds.2', child)}, toInt64(${child})), (_ds.1, toInt64(-1)))`;
  return `tupleElement(arrayFold(${round}, ${levels(`length(${h})`)}, (${h}, toInt64(0))), 1)`;
}

/**
 * The heap left after feeding every value of `vs` (Array(Float64), in the engine's input order) to
 * a topk (or bottomk) heap of capacity `k` (an Int64 expression, >= 1): positions into `vs`, in heap
 * array order.
 */
export function heapSelect(vs: string, k: string, bottom: boolean): string {
  const top = `${vs}[_fh[1]]`;
  const x = `${vs}[_fj]`;
  const beats = bottom ? `${top} > ${x}` : `${top} < ${x}`;
  const replaces = `(${beats} OR (isNaN(${top}) AND NOT isNaN(${x})))`;
  const step = `(_fh, _fj) -> if(toInt64(length(_fh)) < ${k}, ${siftUp(vs, bottom, 'arrayPushBack(_fh, _fj)')}, if(${replaces}, ${siftDown(vs, bottom, 'arrayConcat([_fj], arrayPopFront(_fh))')}, _fh))`;
  return `arrayFold(${step}, arrayEnumerate(${vs}), CAST([], 'Array(UInt32)'))`;
}

/**
 * The heap's items in the engine's output order: by value (descending for topk, ascending for
 * bottomk), NaN last, ties in heap array order (the engine's sort is stable).
 */
export function heapOutputOrder(vs: string, heap: string, bottom: boolean): string {
  const key = bottom ? `${vs}[_ox]` : `-${vs}[_ox]`;
  return `arraySort((_ox, _on) -> (isNaN(${vs}[_ox]), if(isNaN(${vs}[_ox]), toFloat64(0), ${key}), _on), ${heap}, arrayEnumerate(${heap}))`;
}
