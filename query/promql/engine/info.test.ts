import { describe, expect, it } from 'vitest';
import { newMatcher, type LabelMatcher } from '../../../model/matchers.ts';
import type { VectorSelector } from '../ast.ts';
import { infoNameMatchers } from './info.ts';

function selector(...matchers: LabelMatcher[]): VectorSelector {
  return { kind: 'VectorSelector', name: '', matchers, offsetMs: 0, at: null, pos: { start: 0, end: 0 } } as VectorSelector;
}

describe('infoNameMatchers', () => {
  const data = newMatcher('=~', 'data', '.+');
  const cases: [string, VectorSelector | null, string[]][] = [
    ['no selector: target_info', null, ['__name__="target_info"']],
    ['no __name__ matcher: target_info', selector(data), ['__name__="target_info"']],
    ['a positive matcher is used as given', selector(newMatcher('=', '__name__', 'build_info'), data), ['__name__="build_info"']],
    ['a positive and a negative matcher are used as given',
      selector(newMatcher('=~', '__name__', '.+_info'), newMatcher('!~', '__name__', '.*build.*')),
      ['__name__=~".+_info"', '__name__!~".*build.*"']],
    ['only negative matchers gain __name__=~".+_info"',
      selector(newMatcher('!=', '__name__', 'target_info'), data),
      ['__name__!="target_info"', '__name__=~".+_info"']],
    ['only negative regex matchers gain __name__=~".+_info"',
      selector(newMatcher('!~', '__name__', '.+_info')),
      ['__name__!~".+_info"', '__name__=~".+_info"']],
  ];
  it.each(cases)('%s', (_name, sel, want) => {
    expect(infoNameMatchers(sel).map(String)).toEqual(want);
  });
});
