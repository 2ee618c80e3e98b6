import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../pipelines/services/free-port.ts';

const PROGRAM = fileURLToPath(new URL('./chdb-http-server.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A ClickHouse HTTP endpoint on loopback: chDB behind ClickHouse's HTTP protocol
 * (chdb-http-server.ts), in a process of its own so a test can take it away (`kill`) and bring it
 * back (`start`) on the same port and data directory, as a server restart would.
 */
export class ChdbHttpServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stderr = '';

  private constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  static async start(dataDir: string): Promise<ChdbHttpServer> {
    const server = new ChdbHttpServer(await freePort(), dataDir);
    await server.start();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the process (again) and resolves once it accepts requests. */
  async start(): Promise<void> {
    if (this.child) throw new Error('bug: the ClickHouse HTTP server is already running');
    const child = spawn(process.execPath, ['--import', 'tsx', PROGRAM, '--port', String(this.port), '--data-dir', this.dataDir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('listening ')) {
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code, signal) => reject(new Error(`the ClickHouse HTTP server exited (${code ?? signal}) before listening:\n${this.stderr}`)));
    });
  }

  /** Takes the server away at once (SIGKILL): open requests break, new ones are refused. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** What the server wrote to stderr so far (for failure messages). */
  log(): string {
    return this.stderr;
  }
}
