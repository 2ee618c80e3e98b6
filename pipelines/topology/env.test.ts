import { describe, expect, it } from 'vitest';
import { interpolate, resolveCoreScalar } from './env.ts';

const env = { HOST: 'nats.internal', PORT: '4222', EMPTY: '', A: 'a', B: 'b' };

describe('interpolate', () => {
  it.each([
    { text: 'plain text', want: 'plain text', changed: false },
    { text: 'nats://${HOST}:${PORT}', want: 'nats://nats.internal:4222', changed: true },
    { text: '${UNSET:-fallback}', want: 'fallback', changed: true },
    { text: '${EMPTY:-fallback}', want: 'fallback', changed: true },
    { text: '${UNSET-fallback}', want: 'fallback', changed: true },
    { text: '${EMPTY-fallback}', want: '', changed: true },
    { text: '${HOST:-fallback}', want: 'nats.internal', changed: true },
    { text: '${HOST-fallback}', want: 'nats.internal', changed: true },
    { text: '${UNSET:-}', want: '', changed: true },
    { text: '${UNSET:-a-b:c}', want: 'a-b:c', changed: true },
    { text: '${UNSET:-${A}}', want: 'a', changed: true },
    { text: '${UNSET:-${ALSO_UNSET:-deep}}', want: 'deep', changed: true },
    { text: '${UNSET:-x$$y}', want: 'x$y', changed: true },
    { text: 'cost: $$5', want: 'cost: $5', changed: true },
    { text: '$$${A}', want: '$a', changed: true },
    { text: '^up$', want: '^up$', changed: false },
    { text: 'a$b', want: 'a$b', changed: false },
    { text: '{not a ref}', want: '{not a ref}', changed: false },
    { text: '${A}${B}', want: 'ab', changed: true },
    { text: '$${1}_x', want: '${1}_x', changed: true },
  ])('$text -> $want', ({ text, want, changed }) => {
    expect(interpolate(text, env)).toEqual({ ok: true, value: want, changed });
  });

  it.each([
    { text: '${UNSET}', error: 'environment variable UNSET is not set and has no default' },
    { text: 'x ${UNSET} y', error: 'environment variable UNSET is not set' },
    { text: '${', error: 'malformed variable reference "${": expected a variable name' },
    { text: '${}', error: 'malformed variable reference "${}": expected a variable name' },
    { text: '${1A}', error: 'malformed variable reference "${1A}": expected a variable name' },
    { text: '${1}_x', error: 'write "$$" for a literal "$", e.g. "$${1}" in a regex replacement' },
    { text: '${A', error: 'malformed variable reference "${A": missing the closing "}"' },
    { text: '${A:-x', error: 'malformed variable reference "${A:-x": missing the closing "}"' },
    { text: '${A:?x}', error: 'malformed variable reference "${A:?x}": expected "}", ":-default}" or "-default}"' },
    { text: '${A B}', error: 'expected "}", ":-default}" or "-default}" after "${A"' },
    { text: '${UNSET:-${ALSO_UNSET}}', error: 'environment variable ALSO_UNSET is not set' },
  ])('$text is an error', ({ text, error }) => {
    const result = interpolate(text, env);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toContain(error);
  });

  it('reports every problem in one string', () => {
    const result = interpolate('${X} and ${1} and ${Y}', env);
    expect(result).toEqual({
      ok: false,
      errors: [expect.stringContaining('"${1}"')],
    });
    // Syntax errors come first; with valid syntax, every unset variable is reported.
    expect(interpolate('${X} and ${Y}', env)).toEqual({
      ok: false,
      errors: [expect.stringContaining('X is not set'), expect.stringContaining('Y is not set')],
    });
  });

  it('does not evaluate a default that is not used', () => {
    expect(interpolate('${A:-${UNSET}}', env)).toEqual({ ok: true, value: 'a', changed: true });
  });
});

describe('resolveCoreScalar', () => {
  it.each([
    { text: '4222', want: 4222 },
    { text: '-7', want: -7 },
    { text: '+3', want: 3 },
    { text: '0x1F', want: 31 },
    { text: '0o17', want: 15 },
    { text: '1.5', want: 1.5 },
    { text: '1e3', want: 1000 },
    { text: '.5', want: 0.5 },
    { text: '.inf', want: Infinity },
    { text: '-.Inf', want: -Infinity },
    { text: 'true', want: true },
    { text: 'FALSE', want: false },
    { text: 'null', want: null },
    { text: '~', want: null },
    { text: '', want: '' },
    { text: 'yes', want: 'yes' },
    { text: '1_000', want: '1_000' },
    { text: '127.0.0.1:4222', want: '127.0.0.1:4222' },
    { text: '15d', want: '15d' },
  ])('$text', ({ text, want }) => {
    expect(resolveCoreScalar(text)).toEqual(want);
  });

  it('.nan', () => {
    expect(resolveCoreScalar('.nan')).toBeNaN();
  });
});
