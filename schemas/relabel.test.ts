import { describe, expect, it } from 'vitest';
import { relabelConfigSchema } from './relabel.ts';

function issues(rule: Record<string, unknown>): { path: (string | number)[]; message: string }[] {
  const result = relabelConfigSchema.safeParse({ rules: [{ target_label: 'env', replacement: 'prod' }, rule] });
  if (result.success) return [];
  return result.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message }));
}

describe('relabelConfigSchema: defaults', () => {
  it('fills separator, regex, replacement and action', () => {
    const config = relabelConfigSchema.parse({ rules: [{ source_labels: ['a'], target_label: 'b' }] });
    expect(config.rules[0]).toEqual({
      source_labels: ['a'],
      target_label: 'b',
      separator: ';',
      regex: '(.*)',
      replacement: '$1',
      action: 'replace',
    });
  });

  it('accepts list-form regex and if lists; lowercases the action', () => {
    const config = relabelConfigSchema.parse({
      rules: [{ regex: ['a', 'b'], action: 'LabelDrop', if: ['up', '{job="x"}'] }],
    });
    expect(config.rules[0]).toMatchObject({ regex: ['a', 'b'], action: 'labeldrop', if: ['up', '{job="x"}'] });
  });

  it.each([
    { source_labels: ['a'], regex: 'x', action: 'keep' },
    { source_labels: ['a'], regex: 'x', action: 'drop' },
    { if: '{a="b"}', action: 'drop' },
    { source_labels: ['a'], target_label: 'b', action: 'keepequal' },
    { source_labels: ['a'], target_label: 'b', action: 'dropequal', regex: '(.*)' },
    { source_labels: ['a'], target_label: 'b', modulus: 8, action: 'hashmod' },
    { regex: 'x_(.*)', replacement: 'y_$1', action: 'labelmap' },
    { regex: 'x', action: 'labeldrop', if: 'up' },
    { regex: 'x', action: 'labelkeep' },
    { source_labels: ['a'], target_label: 'b', action: 'lowercase' },
    { source_labels: ['a'], target_label: 'b', action: 'uppercase' },
    { source_labels: ['a'], target_label: '${1}_x', regex: '(.*)' },
    { target_label: 'service.name', replacement: 'x' }, // UTF-8 label names (Prometheus 3)
    { target_label: 'foo-bar', replacement: 'x', action: 'replace' },
  ])('accepts %j', (rule) => {
    expect(issues(rule)).toEqual([]);
  });
});

describe('relabelConfigSchema: validation errors carry their path', () => {
  it.each<[string, Record<string, unknown>, (string | number)[], RegExp]>([
    ['unknown key', { source_labels: ['a'], target_label: 'b', regexp: 'x' }, [], /regexp/],
    ['unknown action', { action: 'rename' }, ['action'], /replace/],
    ['source_labels not a list', { source_labels: 'a', target_label: 'b' }, ['source_labels'], /array/],
    ['modulus not positive', { source_labels: ['a'], target_label: 'b', modulus: 0, action: 'hashmod' }, ['modulus'], /.+/],
    ['modulus not an integer', { source_labels: ['a'], target_label: 'b', modulus: 1.5, action: 'hashmod' }, ['modulus'], /int/],
    ['bad regex', { source_labels: ['a'], regex: 'a(b', action: 'keep' }, ['regex'], /missing closing \)/],
    ['bad regex in a list', { source_labels: ['a'], regex: ['ok', 'x**'], action: 'keep' }, ['regex', 1], /nested repetition/],
    ['regex that only compiles once wrapped', { source_labels: ['a'], regex: 'a)|(b', action: 'keep' }, ['regex'], /unexpected \)/],
    ['bad if selector', { if: '{job=}', action: 'drop' }, ['if'], /column 6/],
    ['bad if selector in a list', { if: ['up', 'up{'], action: 'drop' }, ['if', 1], /unclosed/],
    ['bad regex inside if', { if: '{a=~"("}', action: 'drop' }, ['if'], /invalid regex/],
    ['hashmod without modulus', { source_labels: ['a'], target_label: 'b', action: 'hashmod' }, ['modulus'], /modulus/],
    ['replace without target_label', { source_labels: ['a'] }, ['target_label'], /requires 'target_label'/],
    ['hashmod without target_label', { source_labels: ['a'], modulus: 2, action: 'hashmod' }, ['target_label'], /requires 'target_label'/],
    ['lowercase without target_label', { source_labels: ['a'], action: 'lowercase' }, ['target_label'], /requires 'target_label'/],
    ['uppercase without target_label', { source_labels: ['a'], action: 'uppercase' }, ['target_label'], /requires 'target_label'/],
    ['keepequal without target_label', { source_labels: ['a'], action: 'keepequal' }, ['target_label'], /requires 'target_label'/],
    ['dropequal without target_label', { source_labels: ['a'], action: 'dropequal' }, ['target_label'], /requires 'target_label'/],
    ['target_label not well-formed UTF-8', { source_labels: ['a'], target_label: 'x\ud800' }, ['target_label'], /invalid 'target_label' for replace/],
    ['hashmod target_label not well-formed', { source_labels: ['a'], target_label: '\udc00', modulus: 2, action: 'hashmod' }, ['target_label'], /invalid 'target_label' for hashmod/],
    ['lowercase with replacement', { source_labels: ['a'], target_label: 'b', replacement: 'x', action: 'lowercase' }, ['replacement'], /can not be set for lowercase/],
    ['uppercase with replacement', { source_labels: ['a'], target_label: 'b', replacement: 'x', action: 'uppercase' }, ['replacement'], /can not be set for uppercase/],
    ['keepequal with regex', { source_labels: ['a'], target_label: 'b', regex: 'x', action: 'keepequal' }, ['regex'], /requires only 'source_labels' and 'target_label'/],
    ['dropequal with separator', { source_labels: ['a'], target_label: 'b', separator: ',', action: 'dropequal' }, ['separator'], /requires only/],
    ['dropequal with modulus', { source_labels: ['a'], target_label: 'b', modulus: 3, action: 'dropequal' }, ['modulus'], /requires only/],
    ['keepequal with replacement', { source_labels: ['a'], target_label: 'b', replacement: 'x', action: 'keepequal' }, ['replacement'], /can not be set for keepequal/],
    ['labelmap with an empty replacement', { regex: '(.*)', replacement: '', action: 'labelmap' }, ['replacement'], /invalid 'replacement' for labelmap/],
    ['labeldrop with source_labels', { source_labels: ['a'], regex: 'x', action: 'labeldrop' }, ['source_labels'], /requires only 'regex'/],
    ['labeldrop with target_label', { target_label: 'a', regex: 'x', action: 'labeldrop' }, ['target_label'], /requires only 'regex'/],
    ['labelkeep with separator', { separator: ',', regex: 'x', action: 'labelkeep' }, ['separator'], /requires only 'regex'/],
    ['labelkeep with replacement', { replacement: 'y', regex: 'x', action: 'labelkeep' }, ['replacement'], /requires only 'regex'/],
    ['labelkeep with modulus', { modulus: 4, regex: 'x', action: 'labelkeep' }, ['modulus'], /requires only 'regex'/],
  ])('%s', (_name, rule, path, message) => {
    const found = issues(rule);
    const match = found.find((i) => JSON.stringify(i.path) === JSON.stringify(['rules', 1, ...path]));
    expect(match, JSON.stringify(found)).toBeDefined();
    expect(match!.message).toMatch(message);
  });

  it('reports every problem of a rule at once', () => {
    const found = issues({ source_labels: ['a'], regex: 'x', separator: ',', modulus: 2, action: 'keepequal' });
    expect(found.map((i) => i.path)).toEqual([
      ['rules', 1, 'target_label'],
      ['rules', 1, 'regex'],
      ['rules', 1, 'modulus'],
      ['rules', 1, 'separator'],
    ]);
  });

  it('rejects unknown top-level keys and a missing rules list', () => {
    expect(relabelConfigSchema.safeParse({ rules: [], extra: 1 }).success).toBe(false);
    const r = relabelConfigSchema.safeParse({});
    expect(r.success).toBe(false);
    expect(r.error!.issues[0].path).toEqual(['rules']);
  });
});
