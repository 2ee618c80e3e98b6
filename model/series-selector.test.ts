import { describe, expect, it } from 'vitest';
import { labelsFromRecord } from './labels.ts';
import { SeriesSelectorError, parseSeriesSelector, parseSeriesSelectors } from './series-selector.ts';

const up = labelsFromRecord({ __name__: 'up', job: 'node', instance: 'a:9100' });
const down = labelsFromRecord({ __name__: 'down', job: 'web', 'service.name': 'shop' });

describe('parseSeriesSelector: matching', () => {
  it.each<[string, boolean, boolean]>([
    ['up', true, false],
    ['  up  ', true, false],
    ['up{}', true, false],
    ['{}', true, true],
    ['{job="node"}', true, false],
    ['{job="node",}', true, false], // trailing comma
    ['{job!="node"}', false, true],
    ['{job=~"node|web"}', true, true],
    ['{job=~"no"}', false, false], // anchored
    ['{job!~"n.*"}', false, true],
    ['up{job="node", instance=~".*:9100"}', true, false],
    ['up{job="web"}', false, false],
    ['{team=""}', true, true], // a missing label equals ''
    ['{job="node" or job="web"}', true, true],
    ['{job="nope" or instance="a:9100"}', true, false],
    ['up{job="nope" or job="node"}', true, false], // the name applies to every group
    ['up{job="web" or job="nope"}', false, false],
    ['{job="x" OR job="web"}', false, true], // `or` is case-insensitive
    ["{job='node'}", true, false],
    ['{job=`node`}', true, false],
    ['{__name__=~"up|down"}', true, true],
    ['{"down"}', false, true], // a quoted metric name (Prometheus 3)
    ['{"service.name"="shop"}', false, true], // a quoted label name
    ['{"down", job="web"}', false, true],
    ['my:recording:rule', false, false],
    ['{\n  job="node",\n  instance="a:9100"\n}', true, false],
  ])('%j matches up=%s down=%s', (input, matchesUp, matchesDown) => {
    const s = parseSeriesSelector(input);
    expect(s.matches(up)).toBe(matchesUp);
    expect(s.matches(down)).toBe(matchesDown);
  });

  it('a label named `or` is still a label after a comma', () => {
    const s = parseSeriesSelector('{a="1", or="2"}');
    expect(s.matches(labelsFromRecord({ a: '1', or: '2' }))).toBe(true);
    expect(s.groups).toHaveLength(1);
  });

  it('the or-groups are kept as alternatives', () => {
    const s = parseSeriesSelector('up{a="1" or b="2", c="3"}');
    expect(s.groups.map((g) => g.map(String))).toEqual([
      ['__name__="up"', 'a="1"'],
      ['__name__="up"', 'b="2"', 'c="3"'],
    ]);
  });

  it('a list matches when any selector does', () => {
    const list = parseSeriesSelectors(['{job="web"}', 'up']);
    expect(list.matches(up)).toBe(true);
    expect(list.matches(down)).toBe(true);
    expect(list.matches(labelsFromRecord({ __name__: 'x' }))).toBe(false);
    expect(parseSeriesSelectors('up').matches(up)).toBe(true);
  });
});

describe('parseSeriesSelector: strings', () => {
  it.each<[string, string]>([
    ['"a\\"b"', 'a"b'],
    ["'a\\'b'", "a'b"],
    ["'a\"b'", 'a"b'],
    ['"a\'b"', "a'b"],
    ['"\\n\\t\\\\"', '\n\t\\'],
    ['"\\x41\\101\\u00e9\\U0001F600"', 'AAé😀'],
    ['"\\xc3\\xa9"', 'é'], // \x bytes form UTF-8
    ['`raw\\n`', 'raw\\n'],
    ['`multi\nline`', 'multi\nline'],
    ['"a.b"', 'a.b'],
  ])('%s -> %j', (literal, value) => {
    const s = parseSeriesSelector(`{x=${literal}}`);
    expect(s.groups[0][0].value).toBe(value);
  });
});

describe('parseSeriesSelector: errors', () => {
  it.each<[string, number, RegExp]>([
    ['', 1, /empty series selector/],
    ['   ', 4, /empty series selector/],
    ['{job="a"', 9, /unclosed "\{"/],
    ['{job="a" job="b"}', 10, /after a label matcher/],
    ['{job}', 5, /expected one of =, !=, =~, !~/],
    ['{job=node}', 6, /quoted string/],
    ['{job="a}', 6, /unterminated string/],
    ['{job=`a}', 6, /unterminated raw string/],
    ['{job="a\nb"}', 8, /newline in string/],
    ['{job="\\q"}', 7, /unknown escape sequence \\q/],
    ["{job=\"\\'\"}", 7, /needs no escape inside double quotes/],
    ['{job="\\x4"}', 7, /invalid \\x escape/],
    ['{job="\\400"}', 7, /invalid octal escape/],
    ['{job="\\ud800"}', 7, /invalid \\u escape/],
    ['{job=~"a(b"}', 8, /invalid regex: missing closing \)/],
    ['{job=~"ab[c"}', 10, /invalid regex: missing closing \]/],
    ['up{__name__="x"}', 4, /metric name must not be set twice/],
    ['{"a", "b"}', 7, /metric name must not be set twice/],
    ['up down', 4, /after the selector/],
    ['{job="a" or}', 12, /after "or"/],
    ['{,}', 2, /expected a label name/],
    ['=up', 1, /starts with a metric name/],
    ['rate(up[5m])', 5, /after the selector/],
  ])('%j fails at column %d', (input, column, message) => {
    let error: unknown;
    try {
      parseSeriesSelector(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SeriesSelectorError);
    const e = error as SeriesSelectorError;
    expect(e.message).toMatch(message);
    expect(e.column).toBe(column);
    expect(e.hint).not.toBe('');
    expect(e.message).toContain(`column ${column}`);
  });

  it('an error in a list names its selector', () => {
    expect(() => parseSeriesSelectors(['up', '{x='])).toThrow(SeriesSelectorError);
  });
});
