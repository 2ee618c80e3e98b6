import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './cli.ts';

/** Runs the CLI in process, capturing what it writes. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

describe('sluice CLI arguments', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    { argv: ['bench', '--bogus'], stderr: /^sluice bench: Unknown option '--bogus'/ },
    { argv: ['run', '--no-such-flag'], stderr: /^sluice run: Unknown option '--no-such-flag'/ },
    { argv: ['serve', '--listen'], stderr: /^sluice serve: Option '--listen <value>' argument missing/ },
    { argv: ['promqltest', '--backend'], stderr: /^sluice promqltest: Option '--backend <value>' argument missing/ },
    { argv: ['tsdb', 'stats', '--top'], stderr: /^sluice tsdb: Option '--top <value>' argument missing/ },
    { argv: ['bench', 'no-such-bench'], stderr: /^sluice bench: unknown benchmark "no-such-bench"; benchmarks:\n {2}ingest/ },
    { argv: ['frobnicate'], stderr: /^sluice: unknown command "frobnicate"/ },
  ])('$argv: a usage error on stderr, exit 2, no stack trace', async ({ argv, stderr }) => {
    const out = await cli(argv);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(stderr);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([{ argv: ['help'] }, { argv: ['--help'] }, { argv: ['bench', '--help'] }, { argv: ['serve', '-h'] }])('$argv: the usage on stdout, exit 0', async ({ argv }) => {
    const out = await cli(argv);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^usage: sluice <command> \[options\]/);
    expect(out.stderr).toBe('');
  });
});
