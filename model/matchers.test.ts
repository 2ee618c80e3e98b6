import { describe, expect, it } from 'vitest';
import { getLabel, labelsFromRecord } from './labels.ts';
import { LabelMatcher, matchesAll, type MatchOp } from './matchers.ts';
import { RegexSyntaxError, ReplacementTemplate, compileAnchored } from './regex.ts';

const series = labelsFromRecord({ __name__: 'up', job: 'node', instance: 'a:9100', path: 'x\ny' });

describe('LabelMatcher', () => {
  it.each<[MatchOp, string, string, boolean]>([
    ['=', 'job', 'node', true],
    ['=', 'job', 'nod', false],
    ['!=', 'job', 'node', false],
    ['!=', 'job', 'web', true],
    ['=', 'missing', '', true], // an absent label equals ''
    ['!=', 'missing', '', false],
    ['=', 'job', '', false],
    ['!=', 'job', '', true],
    ['=~', 'job', 'no.*', true],
    ['=~', 'job', 'no', false], // fully anchored
    ['=~', 'job', 'ode', false],
    ['=~', 'job', '.*ode', true],
    ['!~', 'job', 'no', true],
    ['!~', 'job', 'node|web', false],
    ['=~', 'job', 'web|node|db', true], // literal alternation fast path
    ['=~', 'job', 'web|db', false],
    ['=~', 'missing', '', true],
    ['=~', 'missing', '.*', true],
    ['=~', 'missing', '.+', false],
    ['=~', 'job', '.+', true],
    ['!~', 'missing', '.+', true],
    ['=~', 'path', 'x.y', true], // . matches newline
    ['=~', 'job', '(?i)NODE', true],
    ['=~', 'instance', 'a:9100', true],
    ['=~', 'instance', '[a-z]:\\d+', true],
    ['=~', '__name__', 'up|down', true],
  ])('%s %s %j -> %s', (op, name, value, expected) => {
    const m = new LabelMatcher(op, name, value);
    expect(m.matches(series)).toBe(expected);
    // The fast paths agree with the regex engine.
    if (m.regex) expect(m.regex.re.testExact(getLabel(series, name))).toBe(op === "=~" ? expected : !expected);
  });

  it('matchesAll requires every matcher; an empty list matches everything', () => {
    expect(matchesAll([], series)).toBe(true);
    expect(matchesAll([new LabelMatcher('=', 'job', 'node'), new LabelMatcher('=~', 'instance', 'a:.*')], series)).toBe(true);
    expect(matchesAll([new LabelMatcher('=', 'job', 'node'), new LabelMatcher('=~', 'instance', 'b:.*')], series)).toBe(false);
  });

  it('matchesEmpty and toString', () => {
    expect(new LabelMatcher('=~', 'x', 'a|').matchesEmpty).toBe(true);
    expect(new LabelMatcher('!=', 'x', '').matchesEmpty).toBe(false);
    expect(String(new LabelMatcher('=~', 'job', 'a"b'))).toBe('job=~"a\\"b"');
  });

  it('a bad regex throws a RegexSyntaxError with reason and position', () => {
    const err = (() => {
      try {
        new LabelMatcher('=~', 'job', 'ab[c');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RegexSyntaxError);
    expect((err as RegexSyntaxError).reason).toBe('missing closing ]');
    expect((err as RegexSyntaxError).position).toBe(2);
  });
});

describe('compileAnchored', () => {
  it.each([
    ['a(b', 'missing closing )'],
    ['x**', 'invalid nested repetition operator'],
    ['\\8', 'invalid escape sequence'],
    ['(?<n>a)(?<n>b)', 'duplicate capture group name'],
    ['a)|(b', 'unexpected )'], // would compile once wrapped, but is rejected on its own
    ['(?=x)', 'invalid or unsupported Perl syntax'], // no lookahead in RE2
  ])('%j is rejected: %s', (pattern, reason) => {
    expect(() => compileAnchored(pattern)).toThrow(RegexSyntaxError);
    expect(() => compileAnchored(pattern)).toThrow(reason);
  });

  it('matches in linear time: (a+)+$ against many a then b', () => {
    const re = compileAnchored('(a+)+$');
    const input = 'a'.repeat(100_000) + 'b';
    const started = performance.now();
    expect(re.test(input)).toBe(false);
    expect(re.exec(input)).toBeNull();
    expect(compileAnchored('(x+x+)+y').test('x'.repeat(50_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('exec returns groups, null for a group that took no part', () => {
    expect(compileAnchored('(a)(b)?(?P<c>c)').exec('ac')).toEqual(['ac', 'a', null, 'c']);
    expect(compileAnchored('(a)(b)?(?P<c>c)').groupNames.get('c')).toBe(3);
  });

  it('ReplacementTemplate expands by Go rules', () => {
    const re = compileAnchored('(.)(?P<rest>.*)');
    const groups = re.exec('hello')!;
    const expand = (t: string) => new ReplacementTemplate(t, re).expand(groups);
    expect(expand('$1-$rest')).toBe('h-ello');
    expect(expand('${1}x')).toBe('hx');
    expect(expand('$1x')).toBe('');
    expect(expand('$$1')).toBe('$1');
    expect(expand('${rest')).toBe('${rest');
    expect(new ReplacementTemplate('plain', re).isLiteral).toBe(true);
  });
});
