import { z } from 'zod';
import { RegexSyntaxError, compileAnchored } from '../model/regex.ts';
import { SeriesSelectorError, parseSeriesSelector } from '../model/series-selector.ts';

/**
 * The `relabel` operator's config: Prometheus `relabel_config` rules, plus VictoriaMetrics' `if:`
 * series selector and list-form `regex`.
 *
 * Cross-field checks follow Prometheus's relabel config validation; each problem is its own issue
 * whose `path` names the offending key, so `sluice check` can point at the YAML line. Label names
 * are validated the Prometheus 3 way (UTF-8 names): a `target_label` must be a non-empty, well-formed
 * string, with `$1` / `${name}` templates allowed for `replace`.
 */

export const RELABEL_ACTIONS = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
] as const;

export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

export const DEFAULT_SEPARATOR = ';';
export const DEFAULT_REGEX = '(.*)';
export const DEFAULT_REPLACEMENT = '$1';

const selectorList = z.union([z.string(), z.array(z.string()).min(1)]);

const ruleShape = z.strictObject({
  source_labels: z.array(z.string()).optional(),
  separator: z.string().default(DEFAULT_SEPARATOR),
  /** One pattern, or a list joined with `|` (VictoriaMetrics). */
  regex: z.union([z.string(), z.array(z.string()).min(1)]).default(DEFAULT_REGEX),
  modulus: z.number().int().positive().optional(),
  target_label: z.string().optional(),
  replacement: z.string().default(DEFAULT_REPLACEMENT),
  action: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(RELABEL_ACTIONS))
    .default('replace'),
  if: selectorList.optional(),
});

type RawRule = z.output<typeof ruleShape>;

/** A lone surrogate cannot be encoded as UTF-8, so it cannot be part of a label name. */
const LONE_SURROGATE = /\p{Cs}/u;

/** A label name as Prometheus 3 accepts it by default: any non-empty UTF-8 string. */
export function isValidUtf8LabelName(name: string): boolean {
  return name.length > 0 && !LONE_SURROGATE.test(name);
}

function checkRule(rule: RawRule, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: 'custom', path, message });
  };
  const { action } = rule;
  const target = rule.target_label ?? '';

  // Each regex compiles on its own (RE2 syntax), and so does a list joined with `|`.
  const patterns = typeof rule.regex === 'string' ? [rule.regex] : rule.regex;
  let regexOk = true;
  patterns.forEach((p, i) => {
    try {
      compileAnchored(p);
    } catch (error) {
      if (!(error instanceof RegexSyntaxError)) throw error;
      regexOk = false;
      issue(typeof rule.regex === 'string' ? ['regex'] : ['regex', i], error.message);
    }
  });
  const regex = patterns.join('|');
  if (regexOk && typeof rule.regex !== 'string') {
    try {
      compileAnchored(regex);
    } catch (error) {
      if (!(error instanceof RegexSyntaxError)) throw error;
      issue(['regex'], error.message);
    }
  }

  if (rule.if !== undefined) {
    const selectors = typeof rule.if === 'string' ? [rule.if] : rule.if;
    selectors.forEach((s, i) => {
      try {
        parseSeriesSelector(s);
      } catch (error) {
        if (!(error instanceof SeriesSelectorError)) throw error;
        issue(typeof rule.if === 'string' ? ['if'] : ['if', i], `invalid series selector ${JSON.stringify(s)}: ${error.message}`);
      }
    });
  }

  if (action === 'hashmod' && rule.modulus === undefined) {
    issue(['modulus'], 'relabel configuration for hashmod requires a positive modulus');
  }

  const needsTarget =
    action === 'replace' ||
    action === 'hashmod' ||
    action === 'lowercase' ||
    action === 'uppercase' ||
    action === 'keepequal' ||
    action === 'dropequal';
  if (needsTarget && target === '') {
    issue(['target_label'], `relabel configuration for ${action} action requires 'target_label' value`);
  } else if (needsTarget && !isValidUtf8LabelName(target)) {
    issue(['target_label'], `${JSON.stringify(target)} is invalid 'target_label' for ${action} action`);
  }

  if (
    (action === 'lowercase' || action === 'uppercase' || action === 'keepequal' || action === 'dropequal') &&
    rule.replacement !== DEFAULT_REPLACEMENT
  ) {
    issue(['replacement'], `'replacement' can not be set for ${action} action`);
  }

  if (action === 'labelmap' && !isValidUtf8LabelName(rule.replacement)) {
    issue(['replacement'], `${JSON.stringify(rule.replacement)} is invalid 'replacement' for ${action} action`);
  }

  if (action === 'keepequal' || action === 'dropequal') {
    const extra: [keyof RawRule, boolean][] = [
      ['regex', regex !== DEFAULT_REGEX],
      ['modulus', rule.modulus !== undefined],
      ['separator', rule.separator !== DEFAULT_SEPARATOR],
    ];
    for (const [key, set] of extra) {
      if (set) issue([key], `${action} action requires only 'source_labels' and 'target_label', and no other fields`);
    }
  }

  if (action === 'labeldrop' || action === 'labelkeep') {
    const extra: [keyof RawRule, boolean][] = [
      ['source_labels', rule.source_labels !== undefined],
      ['target_label', rule.target_label !== undefined && rule.target_label !== ''],
      ['modulus', rule.modulus !== undefined],
      ['separator', rule.separator !== DEFAULT_SEPARATOR],
      ['replacement', rule.replacement !== DEFAULT_REPLACEMENT],
    ];
    for (const [key, set] of extra) {
      if (set) issue([key], `${action} action requires only 'regex' (and 'if'), and no other fields`);
    }
  }
}

export const relabelRuleSchema = ruleShape.superRefine(checkRule);

export const relabelConfigSchema = z.strictObject({
  rules: z.array(relabelRuleSchema),
});

export type RelabelRule = z.output<typeof relabelRuleSchema>;
export type RelabelRuleInput = z.input<typeof relabelRuleSchema>;
export type RelabelConfig = z.output<typeof relabelConfigSchema>;
export type RelabelConfigInput = z.input<typeof relabelConfigSchema>;
