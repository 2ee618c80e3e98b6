import { createHash } from 'node:crypto';
import { labelsFromMap, type Labels } from '../../model/labels.ts';
import { ReplacementTemplate, compileAnchored, type AnchoredRegex } from '../../model/regex.ts';
import { parseSeriesSelectors, type SeriesSelectorList } from '../../model/series-selector.ts';
import {
  DEFAULT_REGEX,
  isValidUtf8LabelName,
  type RelabelAction,
  type RelabelConfig,
  type RelabelRule,
} from '../../schemas/relabel.ts';

/**
 * Relabeling as a pure function of a label set: the compiled form of a validated `relabel` config.
 *
 * Semantics are Prometheus's `relabel_config`: rules run in order over a working copy of the
 * labels; an absent label reads as ''; setting a label to '' deletes it; `keep` / `drop` /
 * `keepequal` / `dropequal` may stop the chain by dropping the series. On top of that, a rule may
 * carry VictoriaMetrics' `if:` selector, matched against the labels as they are at that rule: a
 * rule whose `if` does not match is skipped, except `keep`, which then drops the series.
 *
 * A series whose labels end up empty is dropped too. The function runs once per distinct input
 * series (the operator caches its result by series ref), so it favours clarity over allocation.
 */
export type RelabelFunction = (labels: Labels) => Labels | null;

/**
 * The working label set of one relabel run. Iteration order copies Prometheus's label builder,
 * which matters when `labelmap` maps two labels onto one name (the later one wins): the input
 * labels in name order, except that a label set by a rule moves behind them, in the order set.
 */
class Working {
  readonly map = new Map<string, string>();
  private readonly touched = new Set<string>();

  constructor(labels: Labels) {
    for (let i = 0; i < labels.length; i += 2) this.map.set(labels[i], labels[i + 1]);
  }

  get(name: string): string {
    return this.map.get(name) ?? '';
  }

  /** Sets a label; an empty value deletes it (as Prometheus's label builder does). */
  set(name: string, value: string): void {
    if (value === '') {
      this.map.delete(name);
      return;
    }
    if (!this.touched.has(name)) {
      this.touched.add(name);
      this.map.delete(name);
    }
    this.map.set(name, value);
  }

  delete(name: string): void {
    this.map.delete(name);
  }
}

/** One compiled rule: returns false when the series is dropped. */
type Step = (labels: Working) => boolean;

export function compileRelabel(config: RelabelConfig): RelabelFunction {
  const steps = config.rules.map(compileRule);
  return (labels) => {
    const working = new Working(labels);
    for (let i = 0; i < steps.length; i++) if (!steps[i](working)) return null;
    const out = labelsFromMap(working.map);
    return out.length === 0 ? null : out;
  };
}

function compileRule(rule: RelabelRule): Step {
  const regexSource = typeof rule.regex === 'string' ? rule.regex : rule.regex.join('|');
  const regex = compileAnchored(regexSource);
  const step = compileAction(rule.action, rule, regex, regexSource === DEFAULT_REGEX);
  if (rule.if === undefined) return step;
  const selector: SeriesSelectorList = parseSeriesSelectors(rule.if);
  const dropOnMismatch = rule.action === 'keep';
  return (labels) => {
    if (!selector.matchesWith((name) => labels.get(name))) return !dropOnMismatch;
    return step(labels);
  };
}

function compileAction(action: RelabelAction, rule: RelabelRule, regex: AnchoredRegex, defaultRegex: boolean): Step {
  const sources = rule.source_labels ?? [];
  const separator = rule.separator;
  const target = rule.target_label ?? '';
  const join = (labels: Working): string => {
    if (sources.length === 1) return labels.get(sources[0]);
    let out = '';
    for (let i = 0; i < sources.length; i++) {
      if (i > 0) out += separator;
      out += labels.get(sources[i]);
    }
    return out;
  };

  switch (action) {
    case 'keep':
      return (labels) => regex.test(join(labels));
    case 'drop':
      return (labels) => !regex.test(join(labels));
    case 'keepequal':
      return (labels) => labels.get(target) === join(labels);
    case 'dropequal':
      return (labels) => labels.get(target) !== join(labels);
    case 'replace': {
      const targetTemplate = new ReplacementTemplate(target, regex);
      const replacement = new ReplacementTemplate(rule.replacement, regex);
      // Without templates and with the default regex, which matches anything, no match is needed.
      const constant = defaultRegex && targetTemplate.isLiteral && replacement.isLiteral;
      return (labels) => {
        const value = join(labels);
        if (constant) {
          labels.set(target, rule.replacement);
          return true;
        }
        const groups = regex.exec(value);
        if (groups === null) return true; // no match: nothing to replace
        const name = targetTemplate.expand(groups);
        if (!isValidUtf8LabelName(name)) return true; // an expanded name that is no label name is skipped
        labels.set(name, replacement.expand(groups));
        return true;
      };
    }
    case 'lowercase':
      return (labels) => {
        labels.set(target, mapCase(join(labels), false));
        return true;
      };
    case 'uppercase':
      return (labels) => {
        labels.set(target, mapCase(join(labels), true));
        return true;
      };
    case 'hashmod': {
      const modulus = BigInt(rule.modulus!);
      return (labels) => {
        labels.set(target, hashmod(join(labels), modulus));
        return true;
      };
    }
    case 'labelmap': {
      const replacement = new ReplacementTemplate(rule.replacement, regex);
      return (labels) => {
        // Iterate over the labels as they were before this rule; new names do not feed back.
        for (const [name, value] of [...labels.map]) {
          const groups = regex.exec(name);
          if (groups === null) continue;
          const mapped = replacement.expand(groups);
          if (mapped !== '') labels.set(mapped, value);
        }
        return true;
      };
    }
    case 'labeldrop':
      return (labels) => {
        for (const name of [...labels.map.keys()]) if (regex.test(name)) labels.delete(name);
        return true;
      };
    case 'labelkeep':
      return (labels) => {
        for (const name of [...labels.map.keys()]) if (!regex.test(name)) labels.delete(name);
        return true;
      };
  }
}

/**
 * Prometheus's hashmod: the md5 of the value's UTF-8 bytes, its last 8 bytes read as a big-endian
 * unsigned 64-bit integer, modulo `modulus`, in decimal.
 */
export function hashmod(value: string, modulus: bigint): string {
  const digest = createHash('md5').update(value, 'utf8').digest();
  return (digest.readBigUInt64BE(8) % modulus).toString();
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * Case mapping code point by code point, as Go's `strings.ToLower` / `ToUpper` do: a code point
 * whose full mapping would be several characters (`ß` -> `SS`) keeps its single-character form,
 * which is itself when Unicode defines no simple mapping.
 */
function mapCase(value: string, upper: boolean): string {
  if (ASCII.test(value)) return upper ? value.toUpperCase() : value.toLowerCase();
  let out = '';
  for (const ch of value) {
    const mapped = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += [...mapped].length === 1 ? mapped : ch;
  }
  return out;
}
