import { ComponentRegistry } from '../../pipelines/registry.ts';
import { formatTopologyError } from '../../pipelines/topology/compile.ts';
import { loadTopologyFile } from '../../pipelines/topology/load.ts';
import { UsageError } from '../cli.ts';

/** `sluice check FILE`: validates a topology, listing every problem; exit 1 when there are any. */
export async function commandCheck(args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError('expects one topology file: sluice check <topology.yaml>');
  const result = await loadTopologyFile(args[0], new ComponentRegistry());
  if (!result.ok) {
    for (const error of result.errors) process.stderr.write(`${formatTopologyError(error)}\n`);
    process.stderr.write(`${args[0]}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}\n`);
    return 1;
  }
  for (const warning of result.warnings) process.stderr.write(`warning: ${formatTopologyError(warning)}\n`);
  const count = (kind: string) => result.topology.nodes.filter((n) => n.kind === kind).length;
  process.stdout.write(
    `${args[0]}: ok (${count('source')} sources, ${count('operator')} operators, ${count('sink')} sinks)\n`,
  );
  return 0;
}
