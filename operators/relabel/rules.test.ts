import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { labelsFromRecord, labelsToRecord } from '../../model/labels.ts';
import { relabelConfigSchema, type RelabelRuleInput } from '../../schemas/relabel.ts';
import { compileRelabel, hashmod } from './rules.ts';

type Rec = Record<string, string>;

interface Case {
  name: string;
  rules: RelabelRuleInput[];
  input: Rec;
  expected: Rec | null;
}

function run(rules: RelabelRuleInput[], input: Rec): Rec | null {
  const config = relabelConfigSchema.parse({ rules });
  const out = compileRelabel(config)(labelsFromRecord(input));
  return out === null ? null : labelsToRecord(out);
}

/** Prometheus's hashmod computed independently of rules.ts: md5, last 8 bytes big-endian, mod m. */
function expectedHashmod(value: string, modulus: number): string {
  const hex = createHash('md5').update(Buffer.from(value, 'utf8')).digest('hex');
  return (BigInt(`0x${hex.slice(16)}`) % BigInt(modulus)).toString();
}

const base = { __name__: 'http_requests_total', job: 'api', instance: 'node-1:9100' };

const cases: Case[] = [
  // --- defaults ---------------------------------------------------------------------------
  {
    name: 'all defaults: replace of source value into target via (.*) and $1',
    rules: [{ source_labels: ['job'], target_label: 'service' }],
    input: base,
    expected: { ...base, service: 'api' },
  },
  {
    name: 'default separator is ;',
    rules: [{ source_labels: ['job', 'instance'], target_label: 'key' }],
    input: base,
    expected: { ...base, key: 'api;node-1:9100' },
  },
  {
    name: 'custom separator',
    rules: [{ source_labels: ['job', 'instance'], separator: '/', target_label: 'key' }],
    input: base,
    expected: { ...base, key: 'api/node-1:9100' },
  },
  {
    name: 'missing source labels join as empty strings',
    rules: [{ source_labels: ['nope', 'job', 'nada'], target_label: 'key' }],
    input: base,
    expected: { ...base, key: ';api;' },
  },
  {
    name: 'default replacement $1 with a custom regex',
    rules: [{ source_labels: ['instance'], regex: '([^:]+):\\d+', target_label: 'host' }],
    input: base,
    expected: { ...base, host: 'node-1' },
  },
  {
    name: 'default action is replace; no source labels and a constant replacement adds a label',
    rules: [{ target_label: 'env', replacement: 'prod' }],
    input: base,
    expected: { ...base, env: 'prod' },
  },
  {
    name: 'action names are case-insensitive',
    rules: [{ source_labels: ['job'], regex: 'api', action: 'DROP' }],
    input: base,
    expected: null,
  },
  // --- replace ----------------------------------------------------------------------------
  {
    name: 'replace: regex is anchored, "a" does not match "ab" (no replacement)',
    rules: [{ source_labels: ['x'], regex: 'a', target_label: 'y', replacement: 'hit' }],
    input: { x: 'ab' },
    expected: { x: 'ab' },
  },
  {
    name: 'replace: anchored regex matches the whole value',
    rules: [{ source_labels: ['x'], regex: 'a', target_label: 'y', replacement: 'hit' }],
    input: { x: 'a' },
    expected: { x: 'a', y: 'hit' },
  },
  {
    name: 'replace: . matches a newline (the s flag)',
    rules: [{ source_labels: ['x'], regex: 'a.b', target_label: 'y', replacement: 'hit' }],
    input: { x: 'a\nb' },
    expected: { x: 'a\nb', y: 'hit' },
  },
  {
    name: 'replace: an empty result deletes the target label',
    rules: [{ source_labels: ['nope'], target_label: 'job' }],
    input: base,
    expected: { __name__: 'http_requests_total', instance: 'node-1:9100' },
  },
  {
    name: 'replace: an empty replacement deletes the target label',
    rules: [{ source_labels: ['job'], regex: 'api', target_label: 'instance', replacement: '' }],
    input: base,
    expected: { __name__: 'http_requests_total', job: 'api' },
  },
  {
    name: 'replace: no match leaves the labels alone',
    rules: [{ source_labels: ['job'], regex: 'web', target_label: 'job', replacement: 'x' }],
    input: base,
    expected: base,
  },
  {
    name: 'replace: target_label with a $1 template',
    rules: [{ source_labels: ['k', 'v'], regex: '(.+);(.+)', target_label: 'tag_$1', replacement: '$2' }],
    input: { k: 'color', v: 'red' },
    expected: { k: 'color', v: 'red', tag_color: 'red' },
  },
  {
    name: 'replace: target_label template expanding to an empty name is skipped',
    rules: [{ source_labels: ['k'], regex: '(.*)', target_label: '$1', replacement: 'v' }],
    input: { a: 'b' },
    expected: { a: 'b' },
  },
  {
    name: 'replace: UTF-8 target label names are valid (Prometheus 3)',
    rules: [{ source_labels: ['job'], target_label: 'service.name' }],
    input: base,
    expected: { ...base, 'service.name': 'api' },
  },
  {
    name: 'replace: list-form regex is joined with |',
    rules: [{ source_labels: ['job'], regex: ['web', 'api'], target_label: 'tier', replacement: 'front' }],
    input: base,
    expected: { ...base, tier: 'front' },
  },
  {
    name: 'replace: rewriting __name__',
    rules: [{ source_labels: ['__name__'], regex: '(.+)_total', target_label: '__name__', replacement: '${1}_count' }],
    input: base,
    expected: { ...base, __name__: 'http_requests_count' },
  },
  // --- Go regexp.Expand rules -------------------------------------------------------------
  ...(
    [
      ['$1', 'ab'],
      ['${1}', 'ab'],
      ['$name', 'cd'],
      ['${name}', 'cd'],
      ['$$', '$'],
      ['$$1', '$1'],
      ['$1x', ''], // the group named "1x", which does not exist
      ['${1}x', 'abx'],
      ['$2-$1', 'cd-ab'],
      ['$9', ''], // no such group
      ['$01', ''], // a leading zero makes it a name, not a number
      ['a$', 'a$'], // a trailing $ is literal
      ['${', '${'], // unterminated brace: literal
      ['${}x', '${}x'], // empty name: literal
      ['$-', '$-'], // not a name: literal
      ['${name}_$1', 'cd_ab'],
      ['$nameX', ''], // the group "nameX"
      ['$0', 'ab;cd'], // group 0 is the whole match
    ] as const
  ).map(
    ([replacement, out]): Case => ({
      name: `expand: ${JSON.stringify(replacement)} -> ${JSON.stringify(out)}`,
      rules: [{ source_labels: ['a', 'b'], regex: '(..);(?P<name>..)', target_label: 'out', replacement }],
      input: { a: 'ab', b: 'cd' },
      expected: out === '' ? { a: 'ab', b: 'cd' } : { a: 'ab', b: 'cd', out },
    }),
  ),
  {
    name: 'expand: an optional group that took no part expands to empty',
    rules: [{ source_labels: ['a'], regex: '(x)?(ab)', target_label: 'out', replacement: '[$1]$2' }],
    input: { a: 'ab' },
    expected: { a: 'ab', out: '[]ab' },
  },
  // --- keep / drop ------------------------------------------------------------------------
  {
    name: 'keep: matching series is kept',
    rules: [{ source_labels: ['job'], regex: 'api|web', action: 'keep' }],
    input: base,
    expected: base,
  },
  {
    name: 'keep: non-matching series is dropped',
    rules: [{ source_labels: ['job'], regex: 'web', action: 'keep' }],
    input: base,
    expected: null,
  },
  {
    name: 'keep: anchored, "ap" does not keep "api"',
    rules: [{ source_labels: ['job'], regex: 'ap', action: 'keep' }],
    input: base,
    expected: null,
  },
  {
    name: 'drop: matching series is dropped',
    rules: [{ source_labels: ['__name__'], regex: 'http_.*', action: 'drop' }],
    input: base,
    expected: null,
  },
  {
    name: 'drop: non-matching series passes',
    rules: [{ source_labels: ['__name__'], regex: 'go_.*', action: 'drop' }],
    input: base,
    expected: base,
  },
  {
    name: 'drop: stops the chain (later rules do not run)',
    rules: [
      { source_labels: ['job'], regex: 'api', action: 'drop' },
      { target_label: 'after', replacement: 'yes' },
    ],
    input: base,
    expected: null,
  },
  {
    name: 'keep: with no source labels the empty string is matched',
    rules: [{ regex: '', action: 'keep' }],
    input: base,
    expected: base,
  },
  {
    name: 'drop on a missing label: regex "" matches the absent label',
    rules: [{ source_labels: ['team'], regex: '', action: 'drop' }],
    input: base,
    expected: null,
  },
  // --- keepequal / dropequal --------------------------------------------------------------
  {
    name: 'keepequal: equal values keep',
    rules: [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }],
    input: { a: 'x', b: 'x' },
    expected: { a: 'x', b: 'x' },
  },
  {
    name: 'keepequal: different values drop',
    rules: [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }],
    input: { a: 'x', b: 'y' },
    expected: null,
  },
  {
    name: 'dropequal: equal values drop',
    rules: [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }],
    input: { a: 'x', b: 'x' },
    expected: null,
  },
  {
    name: 'dropequal: different values keep',
    rules: [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }],
    input: { a: 'x', b: 'y' },
    expected: { a: 'x', b: 'y' },
  },
  {
    name: 'keepequal: joined sources compared with the target',
    rules: [{ source_labels: ['a', 'b'], target_label: 'c', action: 'keepequal' }],
    input: { a: 'x', b: 'y', c: 'x;y' },
    expected: { a: 'x', b: 'y', c: 'x;y' },
  },
  {
    name: 'dropequal: two absent labels are equal (both empty)',
    rules: [{ source_labels: ['nope'], target_label: 'nada', action: 'dropequal' }],
    input: { a: 'x' },
    expected: null,
  },
  // --- hashmod ----------------------------------------------------------------------------
  {
    name: 'hashmod: md5("baz") last 8 bytes e44cf984c85f6e88 mod 1000 = 976',
    rules: [{ source_labels: ['c'], modulus: 1000, target_label: 'd', action: 'hashmod' }],
    input: { c: 'baz' },
    expected: { c: 'baz', d: '976' },
  },
  {
    // md5("") = d41d8cd98f00b204 e9800998ecf8427e: mod 16 is the last hex digit, 0xe = 14.
    name: 'hashmod: empty value, modulus 16, by hand from the md5 hex',
    rules: [{ source_labels: ['nope'], modulus: 16, target_label: 'shard', action: 'hashmod' }],
    input: { a: 'b' },
    expected: { a: 'b', shard: '14' },
  },
  {
    // md5("foo") = acbd18db4cc2f85c edef654fccc4a4d8: mod 256 is the last byte, 0xd8 = 216.
    name: 'hashmod: "foo", modulus 256, by hand from the md5 hex',
    rules: [{ source_labels: ['a'], modulus: 256, target_label: 'shard', action: 'hashmod' }],
    input: { a: 'foo' },
    expected: { a: 'foo', shard: '216' },
  },
  // --- labelmap ---------------------------------------------------------------------------
  {
    name: 'labelmap: copies matching labels under the mapped name',
    rules: [{ regex: '__meta_kubernetes_pod_label_(.+)', action: 'labelmap' }],
    input: { __meta_kubernetes_pod_label_app: 'web', __meta_kubernetes_pod_label_tier: 'front', job: 'k' },
    expected: {
      __meta_kubernetes_pod_label_app: 'web',
      __meta_kubernetes_pod_label_tier: 'front',
      app: 'web',
      tier: 'front',
      job: 'k',
    },
  },
  {
    name: 'labelmap: replacement template',
    rules: [{ regex: '(.+)_(.+)', replacement: '${2}_$1', action: 'labelmap' }],
    input: { foo_bar: 'x' },
    expected: { foo_bar: 'x', bar_foo: 'x' },
  },
  {
    name: 'labelmap: anchored (partial name matches do not map)',
    rules: [{ regex: 'foo', replacement: 'bar', action: 'labelmap' }],
    input: { foo_x: '1', foo: '2' },
    expected: { foo_x: '1', foo: '2', bar: '2' },
  },
  {
    name: 'labelmap: later label (in builder order) wins on a name clash',
    rules: [{ regex: '(a|b)', replacement: 'c', action: 'labelmap' }],
    input: { a: '1', b: '2' },
    expected: { a: '1', b: '2', c: '2' },
  },
  {
    name: 'labelmap: a label set by an earlier rule iterates after the unchanged ones',
    rules: [
      { target_label: 'a', replacement: '9' },
      { regex: '(a|b)', replacement: 'c', action: 'labelmap' },
    ],
    input: { a: '1', b: '2' },
    expected: { a: '9', b: '2', c: '9' },
  },
  // --- labeldrop / labelkeep --------------------------------------------------------------
  {
    name: 'labeldrop: removes matching label names',
    rules: [{ regex: 'pod_uid|request_id', action: 'labeldrop' }],
    input: { ...base, pod_uid: 'u', request_id: 'r' },
    expected: base,
  },
  {
    name: 'labeldrop: anchored ("job" does not drop "jobs")',
    rules: [{ regex: 'job', action: 'labeldrop' }],
    input: { job: 'a', jobs: 'b' },
    expected: { jobs: 'b' },
  },
  {
    name: 'labelkeep: keeps only matching label names',
    rules: [{ regex: '__name__|job', action: 'labelkeep' }],
    input: base,
    expected: { __name__: 'http_requests_total', job: 'api' },
  },
  {
    name: 'labelkeep: keeping nothing yields an empty set, which drops the series',
    rules: [{ regex: 'nothing', action: 'labelkeep' }],
    input: base,
    expected: null,
  },
  {
    name: 'labeldrop of every label drops the series',
    rules: [{ regex: '.*', action: 'labeldrop' }],
    input: base,
    expected: null,
  },
  // --- lowercase / uppercase --------------------------------------------------------------
  {
    name: 'lowercase: joined sources into the target',
    rules: [{ source_labels: ['a', 'b'], target_label: 'c', action: 'lowercase' }],
    input: { a: 'HeLLo', b: 'WORLD' },
    expected: { a: 'HeLLo', b: 'WORLD', c: 'hello;world' },
  },
  {
    name: 'uppercase: in place',
    rules: [{ source_labels: ['env'], target_label: 'env', action: 'uppercase' }],
    input: { env: 'prod-é' },
    expected: { env: 'PROD-É' },
  },
  {
    name: 'uppercase: ß has no single-character upper case and stays (as Go maps it)',
    rules: [{ source_labels: ['a'], target_label: 'a', action: 'uppercase' }],
    input: { a: 'straße' },
    expected: { a: 'STRAßE' },
  },
  {
    name: 'lowercase: empty source deletes the target',
    rules: [{ source_labels: ['nope'], target_label: 'a', action: 'lowercase' }],
    input: { a: 'x', b: 'y' },
    expected: { b: 'y' },
  },
  // --- if: ----------------------------------------------------------------------------------
  {
    name: 'if: rule applies when the selector matches',
    rules: [{ if: '{job="api"}', target_label: 'team', replacement: 'core' }],
    input: base,
    expected: { ...base, team: 'core' },
  },
  {
    name: 'if: rule is skipped when the selector does not match',
    rules: [{ if: '{job="web"}', target_label: 'team', replacement: 'core' }],
    input: base,
    expected: base,
  },
  {
    name: 'if: action drop with only if drops matching series',
    rules: [{ if: 'http_requests_total{instance=~"node-.*"}', action: 'drop' }],
    input: base,
    expected: null,
  },
  {
    name: 'if: action drop with only if keeps the others',
    rules: [{ if: 'go_goroutines', action: 'drop' }],
    input: base,
    expected: base,
  },
  {
    name: 'if: action keep drops the series when the selector does not match',
    rules: [{ if: '{job="web"}', action: 'keep' }],
    input: base,
    expected: null,
  },
  {
    name: 'if: action keep with a matching selector keeps',
    rules: [{ if: '{job="api"}', action: 'keep' }],
    input: base,
    expected: base,
  },
  {
    name: 'if: a list of selectors applies when any matches',
    rules: [{ if: ['{job="web"}', '{job="api"}'], action: 'drop' }],
    input: base,
    expected: null,
  },
  {
    name: 'if: or-groups inside braces',
    rules: [{ if: '{job="web" or instance="node-1:9100"}', target_label: 'hit', replacement: '1' }],
    input: base,
    expected: { ...base, hit: '1' },
  },
  {
    name: 'if: sees the labels as earlier rules left them',
    rules: [
      { target_label: 'env', replacement: 'prod' },
      { if: '{env="prod"}', target_label: 'seen', replacement: 'yes' },
    ],
    input: base,
    expected: { ...base, env: 'prod', seen: 'yes' },
  },
  {
    name: 'if: combined with labeldrop',
    rules: [{ if: '{job="api"}', regex: 'instance', action: 'labeldrop' }],
    input: base,
    expected: { __name__: 'http_requests_total', job: 'api' },
  },
  // --- chains and the empty label set -------------------------------------------------------
  {
    name: 'chain: rules run in order and see earlier results',
    rules: [
      { source_labels: ['instance'], regex: '([^:]+):.*', target_label: 'host' },
      { source_labels: ['host'], target_label: 'node', action: 'uppercase' },
      { regex: 'instance', action: 'labeldrop' },
    ],
    input: base,
    expected: { __name__: 'http_requests_total', job: 'api', host: 'node-1', node: 'NODE-1' },
  },
  {
    name: 'empty rule list returns the input labels',
    rules: [],
    input: base,
    expected: base,
  },
  {
    name: 'an empty input label set is dropped',
    rules: [],
    input: {},
    expected: null,
  },
];

describe('compileRelabel', () => {
  it.each(cases)('$name', ({ rules, input, expected }) => {
    expect(run(rules, input)).toEqual(expected);
  });

  it('returns sorted, frozen label sets', () => {
    const config = relabelConfigSchema.parse({ rules: [{ target_label: 'a', replacement: 'x' }] });
    const out = compileRelabel(config)(labelsFromRecord({ z: '1', m: '2' }))!;
    expect(out).toEqual(['a', 'x', 'm', '2', 'z', '1']);
    expect(Object.isFrozen(out)).toBe(true);
  });

  it('does not mutate the input label set', () => {
    const input = labelsFromRecord(base);
    const copy = [...input];
    run([{ regex: '.*', action: 'labeldrop' }], base);
    compileRelabel(relabelConfigSchema.parse({ rules: [{ regex: 'job', action: 'labeldrop' }] }))(input);
    expect([...input]).toEqual(copy);
  });
});

describe('hashmod', () => {
  it.each([
    ['baz', 1000],
    ['', 10],
    ['foo;bar', 7],
    ['node-1:9100', 3],
    ['héllo', 1000], // UTF-8 bytes are hashed
    ['x', 1],
    ['some-long-value-'.repeat(20), 2 ** 40 + 7],
  ])('%j mod %d equals the independently computed value', (value, modulus) => {
    expect(hashmod(value, BigInt(modulus))).toBe(expectedHashmod(value, modulus));
    expect(run([{ source_labels: ['v'], modulus, target_label: 'h', action: 'hashmod' }], { v: value || 'unused' })).toEqual(
      value === ''
        ? { v: 'unused', h: expectedHashmod('unused', modulus) }
        : { v: value, h: expectedHashmod(value, modulus) },
    );
  });

  it('matches values derived by hand from the md5 hex', () => {
    expect(hashmod('baz', 1000n)).toBe('976');
    expect(hashmod('', 16n)).toBe('14');
    expect(hashmod('foo', 256n)).toBe('216');
    expect(hashmod('foo', 1n)).toBe('0');
  });
});

describe('linear-time matching', () => {
  it('a catastrophic-for-backtracking pattern completes quickly', () => {
    const config = relabelConfigSchema.parse({
      rules: [{ source_labels: ['v'], regex: '(a+)+$', target_label: 'm', replacement: 'hit' }],
    });
    const relabel = compileRelabel(config);
    const value = 'a'.repeat(50_000) + 'b';
    const started = performance.now();
    expect(labelsToRecord(relabel(labelsFromRecord({ v: value }))!)).toEqual({ v: value });
    const keep = compileRelabel(
      relabelConfigSchema.parse({ rules: [{ source_labels: ['v'], regex: '(a|aa)*c', action: 'keep' }] }),
    );
    expect(keep(labelsFromRecord({ v: value }))).toBeNull();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
