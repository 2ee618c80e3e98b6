import { writeFileSync, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RuntimeServices } from '../component.ts';
import { LocalNatsServer } from '../services/nats-server.ts';

/** Whether something accepts connections on 127.0.0.1:port. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Services a running topology shares. `natsUrl()` answers NATS_URL when set; otherwise it starts
 * one local `nats-server -js` (on 4222 when free, else on a free port) with its store in the
 * data directory, and writes its URL to `<data_dir>/nats.url` so `sluice demo` can find it.
 */
export class LocalRuntimeServices implements RuntimeServices {
  private nats: Promise<string> | undefined;
  private server: LocalNatsServer | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
  ) {}

  natsUrl(): Promise<string> {
    this.nats ??= this.resolveNats();
    return this.nats;
  }

  async close(): Promise<void> {
    await this.server?.stop('SIGTERM');
  }

  private async resolveNats(): Promise<string> {
    const configured = this.env.NATS_URL;
    if (configured) return configured;
    const storeDir = join(this.dataDir, 'nats');
    mkdirSync(storeDir, { recursive: true });
    const port = (await portInUse(4222)) ? undefined : 4222;
    this.server = await LocalNatsServer.start({ storeDir, ownProcessGroup: true, ...(port ? { port } : {}) });
    writeFileSync(join(this.dataDir, 'nats.url'), `${this.server.url}\n`);
    this.logger.info({ url: this.server.url, storeDir }, 'NATS_URL unset: started a local nats-server with JetStream');
    return this.server.url;
  }
}
