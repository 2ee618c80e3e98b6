import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Component, ComponentKind } from '../component.ts';
import { compileTopology, formatTopologyError } from './compile.ts';
import type { CompileResult, ComponentCatalog } from './compile.ts';
import { loadTopologyFile } from './load.ts';

const unbuildable = (): never => {
  throw new Error('the compiler must not build components');
};

const fakes: Component[] = [
  {
    kind: 'source',
    emits: 'samples',
    type: 'nats',
    description: 'fake NATS source',
    schema: z.strictObject({
      url: z.string().default('nats://127.0.0.1:4222'),
      subject: z.string(),
      port: z.number().int().min(1).max(65535).optional(),
      tls: z.union([z.boolean(), z.strictObject({ ca: z.string() })]).default(false),
    }),
    build: unbuildable,
  },
  {
    kind: 'operator',
    accepts: ['samples'],
    emits: 'samples',
    type: 'relabel',
    description: 'fake relabel operator',
    schema: z.strictObject({
      rules: z
        .array(z.strictObject({ action: z.enum(['keep', 'drop', 'labeldrop']), regex: z.string() }))
        .default([]),
    }),
    build: unbuildable,
  },
  {
    kind: 'operator',
    accepts: ['samples'],
    emits: 'rollups',
    type: 'downsample',
    description: 'fake downsample operator',
    schema: z.strictObject({}),
    build: unbuildable,
  },
  {
    kind: 'sink',
    accepts: ['samples', 'rollups'],
    type: 'clickhouse',
    description: 'fake clickhouse sink',
    schema: z.strictObject({}),
    build: unbuildable,
  },
  {
    kind: 'sink',
    accepts: ['samples'],
    type: 'chunks',
    description: 'fake chunk store sink',
    schema: z
      .strictObject({
        path: z.string().min(1),
        retention: z.string().default('15d'),
        max_bytes: z.number().positive().optional(),
      })
      .refine((c) => c.retention !== '0d', { path: ['retention'], error: 'retention must be longer than 0d' }),
    build: unbuildable,
  },
];

const catalog: ComponentCatalog = {
  lookup: (kind: ComponentKind, type: string) => fakes.find((c) => c.kind === kind && c.type === type),
  types: (kind: ComponentKind) => fakes.filter((c) => c.kind === kind).map((c) => c.type),
};

/** Inline YAML, one argument per line, so line numbers are argument positions. */
const lines = (...l: string[]): string => l.join('\n') + '\n';

/** `line:col: message` for every error, in the order reported. */
function errorsOf(text: string, env: Record<string, string | undefined> = {}): string[] {
  const result = compileTopology(text, 'topology.yaml', catalog, env);
  if (result.ok) return [];
  return result.errors.map((e) => `${e.line}:${e.col}: ${e.message}`);
}

function compiled(text: string, env: Record<string, string | undefined> = {}) {
  const result = compileTopology(text, 'topology.yaml', catalog, env);
  if (!result.ok) throw new Error(result.errors.map(formatTopologyError).join('\n'));
  return result.topology;
}

/** A valid tail to append: one sink reading `from`. */
const sinkOf = (from: string) => ['sinks:', '  out:', '    type: chunks', `    inputs: [${from}]`, '    path: ./c'];

const SOURCE = ['sources:', '  in:', '    type: nats', '    subject: m.>'];

describe('compileTopology: a valid topology', () => {
  it('orders nodes topologically, sources first, with outputs for fan-out and fan-in', () => {
    const t = compiled(
      lines(
        'data_dir: /var/lib/sluice',
        'api: { listen: "0.0.0.0:9000" }',
        'sinks:',
        '  store:',
        '    type: chunks',
        '    inputs: [merge]',
        '    path: ./chunks',
        '  raw:',
        '    type: chunks',
        '    inputs: [b]',
        '    path: ./raw',
        'operators:',
        '  merge:',
        '    type: relabel',
        '    inputs: [left, right]',
        '  left:',
        '    type: relabel',
        '    inputs: [b]',
        '  right:',
        '    type: relabel',
        '    inputs: [a, b]',
        'sources:',
        '  a:',
        '    type: nats',
        '    subject: a.>',
        '  b:',
        '    type: nats',
        '    subject: b.>',
      ),
    );
    expect(t.nodes.map((n) => n.name)).toEqual(['a', 'b', 'left', 'right', 'merge', 'store', 'raw']);
    const get = (name: string) => t.byName.get(name);
    expect(get('b')?.outputs).toEqual(['left', 'right', 'raw']);
    expect(get('a')?.outputs).toEqual(['right']);
    expect(get('merge')?.inputs).toEqual(['left', 'right']);
    expect(get('left')?.outputs).toEqual(['merge']);
    expect(get('store')?.outputs).toEqual([]);
    expect(get('a')).toMatchObject({ kind: 'source', type: 'nats', position: { line: 23, col: 3 } });
    expect(get('a')?.component).toBe(fakes[0]);
    // The component schema's output, defaults applied.
    expect(get('a')?.config).toEqual({ url: 'nats://127.0.0.1:4222', subject: 'a.>', tls: false });
    expect(get('store')?.config).toEqual({ path: './chunks', retention: '15d' });
    expect(get('merge')?.config).toEqual({ rules: [] });
    expect(t.dataDir).toBe('/var/lib/sluice');
    expect(t.api).toEqual({ listen: '0.0.0.0:9000', enabled: true });
    expect(t.file).toBe('topology.yaml');
  });

  it('applies top-level defaults', () => {
    const t = compiled(lines(...SOURCE, ...sinkOf('in')));
    expect(t.dataDir).toBe('./data');
    expect(t.api).toEqual({ listen: '127.0.0.1:9464', enabled: true });
    expect(t.nodes.map((n) => [n.name, n.inputs, n.outputs])).toEqual([
      ['in', [], ['out']],
      ['out', ['in'], []],
    ]);
  });

  it('reports YAML warnings without failing', () => {
    const result = compileTopology(lines('%FOO bar', '---', ...SOURCE, ...sinkOf('in')), 'x.yaml', catalog, {});
    expect(result.ok).toBe(true);
    expect(result.ok && result.warnings.length).toBe(1);
  });
});

describe('compileTopology: environment interpolation', () => {
  const withSource = (...extra: string[]) => lines(...SOURCE, ...extra, ...sinkOf('in'));

  it.each([
    { name: 'a plain reference that reads as a number becomes a number', line: '    port: ${PORT}', env: { PORT: '4222' }, want: { port: 4222 } },
    { name: ':- default when unset', line: '    port: ${PORT:-4222}', env: {}, want: { port: 4222 } },
    { name: ':- default when empty', line: '    port: ${PORT:-4222}', env: { PORT: '' }, want: { port: 4222 } },
    { name: 'a plain boolean is re-resolved', line: '    tls: ${TLS:-true}', env: {}, want: { tls: true } },
    { name: '- default only when unset', line: '    url: "${URL-nats://x:1}"', env: { URL: '' }, want: { url: '' } },
    { name: '- default when unset', line: '    url: ${URL-nats://x:1}', env: {}, want: { url: 'nats://x:1' } },
    { name: 'inside a longer value', line: '    url: nats://${HOST}:4222', env: { HOST: 'h' }, want: { url: 'nats://h:4222' } },
    { name: 'a quoted number stays a string', line: '    url: "${PORT}"', env: { PORT: '4222' }, want: { url: '4222' } },
    { name: 'a single-quoted reference is interpolated too', line: "    url: '${PORT}'", env: { PORT: '1' }, want: { url: '1' } },
    { name: '$$ is a literal $', line: '    url: nats://$$x', env: {}, want: { url: 'nats://$x' } },
  ])('$name', ({ line, env, want }) => {
    expect(compiled(withSource(line), env).byName.get('in')?.config).toMatchObject(want);
  });

  it.each([
    { name: 'in type', line: ['  in:', '    type: ${T}', '    subject: x', ...sinkOf('in')], want: '3:11: sources.in.type: environment variable T' },
    { name: 'in inputs', line: [...SOURCE, ...sinkOf('in, "${I}"')], want: '8:18: sinks.out.inputs[1]: environment variable I' },
  ])('a failed reference $name is reported once, not echoed by later checks', ({ line, want }) => {
    const text = line[0] === 'sources:' ? lines(...line) : lines('sources:', ...line);
    expect(errorsOf(text)).toEqual([expect.stringContaining(want)]);
  });

  it('interpolates in sequences and block scalars', () => {
    const t = compiled(
      lines(
        ...SOURCE,
        'operators:',
        '  r:',
        '    type: relabel',
        '    inputs: [in]',
        '    rules:',
        '      - action: ${ACTION:-drop}',
        '        regex: |',
        '          ${RE}',
        ...sinkOf('r'),
      ),
      { RE: 'pod_.*' },
    );
    expect(t.byName.get('r')?.config).toEqual({ rules: [{ action: 'drop', regex: 'pod_.*\n' }] });
  });

  it.each([
    {
      name: 'an unset variable without a default, at the value',
      line: '    url: ${NATS_URL}',
      want: '5:10: sources.in.url: environment variable NATS_URL is not set and has no default',
    },
    { name: 'a malformed reference', line: '    url: "a${"', want: '5:10: sources.in.url: malformed variable reference "${"' },
    { name: 'a reference with a bad name', line: '    url: ${1A}', want: '5:10: sources.in.url: malformed variable reference "${1A}"' },
    {
      name: 'a quoted number stays a string, so a number key rejects it',
      line: '    port: "${PORT}"',
      want: '5:11: sources.in.port: expected a number, received the string "4222"',
    },
    {
      name: 'keys are not interpolated',
      line: '    ${PORT}: 1',
      want: '5:5: sources.in["${PORT}"]: unknown key "${PORT}"; allowed keys: url, subject, port, tls',
    },
  ])('$name', ({ line, want }) => {
    const errors = errorsOf(withSource(line), { PORT: '4222' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(want);
  });
});

interface ErrorCase {
  readonly name: string;
  readonly text: string;
  /** Each expected error: `line:col: ` followed by a fragment of the message. */
  readonly want: readonly string[];
}

const errorCases: ErrorCase[] = [
  {
    name: 'YAML syntax error',
    text: lines(...SOURCE, 'sinks: [a, b', 'x: 1'),
    want: ['6:1: invalid YAML: Flow sequence in block collection must be sufficiently indented'],
  },
  {
    name: 'duplicate key',
    text: lines(...SOURCE, '    subject: again', ...sinkOf('in')),
    want: ['5:5: sources.in: duplicate key "subject" (first written at line 4, column 5)'],
  },
  {
    name: 'empty file',
    text: '# nothing here\n',
    want: ['1:1: the topology is empty; expected a mapping with `sources:` and `sinks:`'],
  },
  {
    name: 'top level not a mapping',
    text: lines('- a', '- b'),
    want: ['1:1: expected a mapping, received a list'],
  },
  {
    name: 'unknown top-level key',
    text: lines(...SOURCE, ...sinkOf('in'), 'sink: {}'),
    want: ['10:1: sink: unknown key "sink"; did you mean "sinks"? allowed keys: data_dir, api, sources, operators, sinks'],
  },
  {
    name: 'missing sinks',
    text: lines(...SOURCE),
    want: [
      '1:1: missing required key "sinks" (expected a mapping)',
      '2:3: sources.in: source "in" is not read by any operator or sink; a source nobody reads would acknowledge data that goes nowhere',
    ],
  },
  {
    name: 'empty sources',
    text: lines('sources: {}', ...sinkOf('in')),
    want: ['1:10: sources: at least one source is required', '5:14: sinks.out.inputs[0]: unknown input "in" (there are no sources or operators)'],
  },
  {
    name: 'sources with no value',
    text: lines('sources:', ...sinkOf('x')),
    want: ['1:1: sources: expected a mapping, received an empty value', '5:14: sinks.out.inputs[0]: unknown input "x"'],
  },
  {
    name: 'invalid component name',
    text: lines('sources:', '  1st:', '    type: nats', '    subject: x', ...sinkOf('1st')),
    want: ['2:3: sources.1st: invalid name the string "1st": a component name must start with a letter or "_"'],
  },
  {
    name: 'bad api listen address and enabled flag',
    text: lines('api:', '  listen: localhost', '  enabled: yes', ...SOURCE, ...sinkOf('in')),
    want: [
      '2:11: api.listen: expected "host:port"',
      '3:12: api.enabled: expected true or false, received the string "yes"',
    ],
  },
  {
    name: 'unknown component type lists the valid ones and suggests the closest',
    text: lines('sources:', '  in:', '    type: natz', ...sinkOf('in')),
    want: ['3:11: sources.in.type: unknown source type "natz"; valid types: nats; did you mean "nats"?'],
  },
  {
    name: 'missing type',
    text: lines('sources:', '  in:', '    subject: x', ...sinkOf('in')),
    want: ['2:3: sources.in: missing required key "type" (expected a string)'],
  },
  {
    name: 'component that is not a mapping',
    text: lines('sources:', '  in: nats', ...sinkOf('in')),
    want: ['2:7: sources.in: expected a mapping, received the string "nats"'],
  },
  {
    name: 'unknown component key, at the key, with the allowed keys',
    text: lines(...SOURCE, '    subjet: y', ...sinkOf('in')),
    want: ['5:5: sources.in.subjet: unknown key "subjet"; did you mean "subject"? allowed keys: url, subject, port, tls'],
  },
  {
    name: 'wrong value type',
    text: lines(...SOURCE, '    port: "80"', ...sinkOf('in')),
    want: ['5:11: sources.in.port: expected a number, received the string "80"'],
  },
  {
    name: 'a union the value matches no form of',
    text: lines(...SOURCE, '    tls: 5', ...sinkOf('in')),
    want: ['5:10: sources.in.tls: expected true or false or a mapping, received the number 5'],
  },
  {
    name: 'a union: the problems of the form the value is closest to',
    text: lines(...SOURCE, '    tls: { ca: 1, cert: x }', ...sinkOf('in')),
    want: [
      '5:16: sources.in.tls.ca: expected a string, received the number 1',
      '5:19: sources.in.tls.cert: unknown key "cert"; allowed keys: ca',
    ],
  },
  {
    name: 'number out of range, and not an integer',
    text: lines(...SOURCE, '    port: 70000', '  in2:', '    type: nats', '    subject: y', '    port: 1.5', ...sinkOf('in, in2')),
    want: ['5:11: sources.in.port: must be <= 65535, received the number 70000', '9:11: sources.in2.port: expected an integer'],
  },
  {
    name: 'missing required component key, at the component name',
    text: lines(...SOURCE, 'sinks:', '  out:', '    type: chunks', '    inputs: [in]'),
    want: ['6:3: sinks.out: missing required key "path" (expected a string)'],
  },
  {
    name: 'empty string',
    text: lines(...SOURCE, 'sinks:', '  out:', '    type: chunks', '    inputs: [in]', '    path: ""'),
    want: ['9:11: sinks.out.path: must not be empty'],
  },
  {
    name: 'enum value lists the options',
    text: lines(
      ...SOURCE,
      'operators:',
      '  r:',
      '    type: relabel',
      '    inputs: [in]',
      '    rules:',
      '      - { action: keepp, regex: x }',
      ...sinkOf('r'),
    ),
    want: ['10:19: operators.r.rules[0].action: expected one of "keep", "drop", "labeldrop", received the string "keepp"; did you mean "keep"?'],
  },
  {
    name: 'nested unknown key and missing key',
    text: lines(
      ...SOURCE,
      'operators:',
      '  r:',
      '    type: relabel',
      '    inputs: [in]',
      '    rules:',
      '      - action: keep',
      '        regexp: x',
      ...sinkOf('r'),
    ),
    want: [
      '10:9: operators.r.rules[0]: missing required key "regex" (expected a string)',
      '11:9: operators.r.rules[0].regexp: unknown key "regexp"; did you mean "regex"? allowed keys: action, regex',
    ],
  },
  {
    name: "a schema's custom message",
    text: lines(...SOURCE, 'sinks:', '  out:', '    type: chunks', '    inputs: [in]', '    path: x', '    retention: 0d'),
    want: ['10:16: sinks.out.retention: retention must be longer than 0d'],
  },
  {
    name: 'a source with inputs',
    text: lines(...SOURCE, '    inputs: [x]', ...sinkOf('in')),
    want: ['5:5: sources.in.inputs: a source takes no inputs'],
  },
  {
    name: 'unknown input, with the closest name and the known ones',
    text: lines(...SOURCE, 'operators:', '  clean:', '    type: relabel', '    inputs: [in]', ...sinkOf('clean, clen')),
    want: ['12:21: sinks.out.inputs[1]: unknown input "clen"; did you mean "clean"?; known components: clean, in'],
  },
  {
    name: 'unknown input with nothing close',
    text: lines(...SOURCE, ...sinkOf('in, zzzzzz')),
    want: ['8:18: sinks.out.inputs[1]: unknown input "zzzzzz"; known components: in'],
  },
  {
    name: 'input naming a sink',
    text: lines(...SOURCE, ...sinkOf('in'), '  more:', '    type: chunks', '    inputs: [out]', '    path: x'),
    want: ['12:14: sinks.more.inputs[0]: input "out" is a sink, and sinks produce nothing to read'],
  },
  {
    name: 'the same input twice',
    text: lines(...SOURCE, ...sinkOf('in, in')),
    want: ['8:18: sinks.out.inputs[1]: "in" is listed twice (also at inputs[0])'],
  },
  {
    name: 'a name used in two sections',
    text: lines(...SOURCE, 'operators:', '  in:', '    type: relabel', '    inputs: [in]', ...sinkOf('in')),
    want: ['6:3: operators.in: the name "in" is already used by source sources.in; component names must be unique'],
  },
  {
    name: 'a cycle, reported at each member',
    text: lines(
      ...SOURCE,
      'operators:',
      '  a:',
      '    type: relabel',
      '    inputs: [in, c]',
      '  b:',
      '    type: relabel',
      '    inputs: [a]',
      '  c:',
      '    type: relabel',
      '    inputs: [b]',
      ...sinkOf('a'),
    ),
    want: [
      '8:18: operators.a.inputs[1]: cycle: a -> b -> c -> a',
      '11:14: operators.b.inputs[0]: cycle: b -> c -> a -> b',
      '14:14: operators.c.inputs[0]: cycle: c -> a -> b -> c',
    ],
  },
  {
    name: 'an operator reading itself',
    text: lines(...SOURCE, 'operators:', '  a:', '    type: relabel', '    inputs: [in, a]', ...sinkOf('a')),
    want: ['8:18: operators.a.inputs[1]: cycle: a -> a'],
  },
  {
    name: 'a sink with no inputs key',
    text: lines(...SOURCE, 'sinks:', '  out:', '    type: chunks', '    path: x', '  used:', '    type: chunks', '    inputs: [in]', '    path: y'),
    want: ['6:3: sinks.out: a sink needs at least one input'],
  },
  {
    name: 'a sink with an empty inputs list',
    text: lines(...SOURCE, 'sinks:', '  out:', '    type: chunks', '    inputs: []', '    path: x', '  used:', '    type: chunks', '    inputs: [in]', '    path: y'),
    want: ['8:13: sinks.out.inputs: a sink needs at least one input'],
  },
  {
    name: 'inputs that are not a list',
    text: lines(...SOURCE, 'sinks:', '  out:', '    type: chunks', '    inputs: in', '    path: x'),
    want: ['8:13: sinks.out.inputs: expected a list, received the string "in"'],
  },
  {
    name: 'inputs of the wrong kind: no guesses about who reads what',
    text: lines(...SOURCE, 'sinks:', '  out:', '    type: chunks', '    inputs: 3', '    path: x'),
    want: ['8:13: sinks.out.inputs: expected a list, received the number 3'],
  },
  {
    name: 'an operator with no inputs',
    text: lines(...SOURCE, 'operators:', '  r:', '    type: relabel', ...sinkOf('in, r')),
    want: ['6:3: operators.r: an operator needs at least one input'],
  },
  {
    name: 'an unused source is an error that says why',
    text: lines(...SOURCE, '  spare:', '    type: nats', '    subject: y', ...sinkOf('in')),
    want: ['5:3: sources.spare: source "spare" is not read by any operator or sink; a source nobody reads would acknowledge data that goes nowhere'],
  },
  {
    name: 'an operator whose output nobody reads',
    text: lines(...SOURCE, 'operators:', '  r:', '    type: relabel', '    inputs: [in]', ...sinkOf('in')),
    want: ['6:3: operators.r: the output of operator "r" is not read by any operator or sink'],
  },
  {
    name: 'an edge whose stream kinds do not meet (rollups into a samples-only sink)',
    text: lines(...SOURCE, 'operators:', '  d:', '    type: downsample', '    inputs: [in]', ...sinkOf('d')),
    want: ['12:14: sinks.out.inputs[0]: input "d" emits rollups, but this sink accepts only samples'],
  },
  {
    name: 'rollups into an operator that accepts samples only',
    text: lines(
      ...SOURCE,
      'operators:',
      '  d:',
      '    type: downsample',
      '    inputs: [in]',
      '  r:',
      '    type: relabel',
      '    inputs: [d]',
      ...sinkOf('r'),
    ),
    want: ['11:14: operators.r.inputs[0]: input "d" emits rollups, but this operator accepts only samples'],
  },
];

describe('compileTopology: stream kinds', () => {
  it('lets rollups reach a sink that accepts them, beside raw samples', () => {
    const t = compiled(
      lines(...SOURCE, 'operators:', '  d:', '    type: downsample', '    inputs: [in]', 'sinks:', '  ch:', '    type: clickhouse', '    inputs: [in, d]'),
    );
    expect(t.byName.get('ch')?.inputs).toEqual(['in', 'd']);
  });
});

describe('compileTopology: every error class, positioned', () => {
  it.each(errorCases)('$name', ({ text, want }) => {
    const errors = errorsOf(text);
    expect(errors).toHaveLength(want.length);
    want.forEach((fragment, i) => expect(errors[i]).toContain(fragment));
  });
});

describe('compileTopology: many errors at once', () => {
  it('reports all of them, sorted by line and column', () => {
    const text = lines(
      'data_dir: 7', //                         1
      'sources:', //                            2
      '  ingest:', //                           3
      '    type: nats', //                      4
      '    url: ${NATS_URL}', //                5
      '    subject: m.>', //                    6
      '    colour: red', //                     7
      '  spare:', //                            8
      '    type: natz', //                      9
      'operators:', //                          10
      '  clean:', //                            11
      '    type: relabel', //                   12
      '    inputs: [ingest, ingest]', //        13
      '    rules:', //                          14
      '      - { action: keepp, regex: x }', // 15
      '  a:', //                                16
      '    type: relabel', //                   17
      '    inputs: [b]', //                     18
      '  b:', //                                19
      '    type: relabel', //                   20
      '    inputs: [a, out]', //                21
      'sinks:', //                              22
      '  out:', //                              23
      '    type: chunks', //                    24
      '    inputs: [clen, clean]', //           25
      '    type: chunks', //                    26
      'extra: 1', //                            27
    );
    const result = compileTopology(text, 'topo.yaml', catalog, {});
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors.map(formatTopologyError);
    const want = [
      'topo.yaml:1:11: data_dir: expected a string, received the number 7',
      'topo.yaml:5:10: sources.ingest.url: environment variable NATS_URL is not set',
      'topo.yaml:7:5: sources.ingest.colour: unknown key "colour"',
      'topo.yaml:8:3: sources.spare: source "spare" is not read',
      'topo.yaml:9:11: sources.spare.type: unknown source type "natz"; valid types: nats',
      'topo.yaml:13:22: operators.clean.inputs[1]: "ingest" is listed twice',
      'topo.yaml:15:19: operators.clean.rules[0].action: expected one of "keep", "drop", "labeldrop"',
      'topo.yaml:18:14: operators.a.inputs[0]: cycle: a -> b -> a',
      'topo.yaml:21:14: operators.b.inputs[0]: cycle: b -> a -> b',
      'topo.yaml:21:17: operators.b.inputs[1]: input "out" is a sink',
      'topo.yaml:23:3: sinks.out: missing required key "path"',
      'topo.yaml:25:14: sinks.out.inputs[0]: unknown input "clen"; did you mean "clean"?',
      'topo.yaml:26:5: sinks.out: duplicate key "type" (first written at line 24, column 5)',
      'topo.yaml:27:1: extra: unknown key "extra"',
    ];
    expect(errors).toHaveLength(want.length);
    want.forEach((fragment, i) => expect(errors[i]).toContain(fragment));
  });

  it('after a YAML syntax error reports the syntax and environment errors only', () => {
    const errors = errorsOf(lines('sources:', '  in:', '    type: nats', '    url: ${X}', '    subject: [a', 'sinks: {}'));
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toContain('4:10: sources.in.url: environment variable X is not set');
    expect(errors.slice(1).every((e) => e.includes('invalid YAML'))).toBe(true);
  });
});

describe('formatTopologyError', () => {
  it('is file:line:col: message', () => {
    expect(formatTopologyError({ file: 'a/t.yaml', line: 3, col: 7, message: 'bad' })).toBe('a/t.yaml:3:7: bad');
  });
});

describe('loadTopologyFile', () => {
  it('reads and compiles a file, using the given environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-topology-'));
    const path = join(dir, 'topology.yaml');
    await writeFile(path, lines(...SOURCE, '    port: ${P}', ...sinkOf('in')));
    const result: CompileResult = await loadTopologyFile(path, catalog, { P: '99' });
    expect(result.ok && result.topology.byName.get('in')?.config).toMatchObject({ port: 99 });
    const failed = await loadTopologyFile(path, catalog, {});
    expect(!failed.ok && failed.errors.map(formatTopologyError)).toEqual([
      `${path}:5:11: sources.in.port: environment variable P is not set and has no default (set it, or write \${P:-default})`,
    ]);
  });

  it('reports a missing file as an error', async () => {
    const result = await loadTopologyFile('/nonexistent/topology.yaml', catalog, {});
    expect(!result.ok && result.errors.map(formatTopologyError)).toEqual([
      '/nonexistent/topology.yaml:1:1: cannot read the topology file: no such file',
    ]);
  });
});
