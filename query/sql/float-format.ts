import { letIn } from './array-numerics.ts';

/**
 * A Float64 as the engine's formatFloatPlain writes it (Go's strconv 'f', -1: the shortest digits
 * that read back as the same float, never an exponent; NaN, +Inf, -Inf; a negative zero as "0",
 * which is what the engine gives). ClickHouse's toString already picks the shortest round-trip
 * digits but writes large and small magnitudes with an exponent ("1e21", "2.5e-10"), so an
 * exponent form is rewritten here by moving the decimal point, padding with zeros.
 *
 * `x` is SQL the translator wrote (a column name).
 */
export function formatFloatPlainSql(x: string): string {
  // Every branch of an `if` is computed for every row, so the zero counts are clamped at 0 wherever they are not the branch taken.
  const plain = letIn(`toString(${x})`, '_fs', letIn(`position(_fs, 'e') = 0`, '_fp', `if(_fp, _fs, ${fromExponent('_fs')})`));
  return `multiIf(isNaN(${x}), 'NaN', ${x} = inf, '+Inf', ${x} = -inf, '-Inf', ${x} = 0, '0', ${plain})`;
}

function fromExponent(s: string): string {
  const negative = `startsWith(${s}, '-')`;
  const body = `if(${negative}, substring(${s}, 2), ${s})`;
  const mant = `splitByChar('e', ${body})[1]`;
  const exp = `toInt64OrZero(splitByChar('e', ${body})[2])`;
  const digits = `replaceOne(${mant}, '.', '')`;
  const pointAt = `(toInt64(if(position(${mant}, '.') = 0, length(${mant}), position(${mant}, '.') - 1)) + ${exp})`;
  const n = `toInt64(length(${digits}))`;
  const out = `multiIf(${pointAt} <= 0, concat('0.', repeat('0', toUInt64(greatest(0, -${pointAt}))), ${digits}), ${pointAt} >= ${n}, concat(${digits}, repeat('0', toUInt64(greatest(0, ${pointAt} - ${n})))), concat(substring(${digits}, 1, greatest(1, ${pointAt})), '.', substring(${digits}, greatest(1, ${pointAt}) + 1)))`;
  return `concat(if(${negative}, '-', ''), ${out})`;
}
