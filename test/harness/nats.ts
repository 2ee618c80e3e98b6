import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalNatsServer } from '../../pipelines/services/nats-server.ts';

export interface NatsFixture {
  readonly server: LocalNatsServer;
  readonly dir: string;
  cleanup(): Promise<void>;
}

/** A real nats-server with JetStream on a free loopback port, its store in a fresh temp dir. */
export async function startNats(): Promise<NatsFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
  const server = await LocalNatsServer.start({ storeDir: join(dir, 'jetstream') });
  return {
    server,
    dir,
    cleanup: async () => {
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
