import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

export class NatsServerUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NatsServerUnavailableError';
  }
}

export interface NatsServerOptions {
  /** JetStream storage directory; JetStream is enabled when given. */
  readonly storeDir?: string;
  /** Port to listen on; a free one is chosen when absent. */
  readonly port?: number;
  /** The binary; `nats-server` from PATH (Debian puts it in /usr/sbin) by default. */
  readonly binary?: string;
  readonly startTimeoutMs?: number;
  /**
   * Run in a process group of its own, so a Ctrl-C at the terminal reaches only sluice, which
   * drains and then stops the server itself. A server left behind by a killed sluice is found
   * through its pid file (in the store directory) and stopped on the next start.
   */
  readonly ownProcessGroup?: boolean;
}

/**
 * A `nats-server` child process on 127.0.0.1: the local server `sluice run` starts when no
 * NATS_URL is set, and the real server integration tests run against. It can be stopped and
 * started again on the same port and store, which is how tests play a server restart.
 */
export class LocalNatsServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  private constructor(
    readonly port: number,
    private readonly options: NatsServerOptions,
  ) {}

  static async start(options: NatsServerOptions = {}): Promise<LocalNatsServer> {
    const server = new LocalNatsServer(options.port ?? (await freePort()), options);
    await server.restart();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the process (again) on the same port and store directory. */
  async restart(): Promise<void> {
    if (this.child) return;
    const binary = this.options.binary ?? findNatsServer();
    const args = ['-a', '127.0.0.1', '-p', String(this.port)];
    if (this.options.storeDir) {
      mkdirSync(this.options.storeDir, { recursive: true });
      args.push('-js', '-sd', this.options.storeDir);
    }
    const detached = this.options.ownProcessGroup === true;
    if (detached && this.options.storeDir) {
      const pidFile = join(this.options.storeDir, 'nats-server.pid');
      await stopLeftover(pidFile);
      args.push('-P', pidFile);
    }
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached });
    if (detached) {
      const killOnExit = () => child.kill('SIGKILL');
      process.once('exit', killOnExit);
      child.once('exit', () => process.off('exit', killOnExit));
    }
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(new NatsServerUnavailableError(`nats-server did not become ready in time:\n${log}`));
      }, this.options.startTimeoutMs ?? 15_000);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        this.child = undefined;
        reject(error);
      };
      child.once('error', (error) => fail(new NatsServerUnavailableError(`cannot run ${binary}`, { cause: error })));
      child.once('exit', (code) => {
        if (this.child === child) fail(new NatsServerUnavailableError(`nats-server exited with ${code}:\n${log}`));
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        if (log.length < 64 * 1024) log += chunk.toString();
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.stderr!.resume();
  }

  /** Stops the process: SIGTERM for a clean shutdown, or SIGKILL to play a crash. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops a nats-server a killed sluice left running on this store (its pid file names it). */
async function stopLeftover(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!(pid > 0) || !alive()) return;
  let command = '';
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!command.includes('nats-server')) return; // the pid was reused by something else
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive()) process.kill(pid, 'SIGKILL');
}

/** The nats-server binary on PATH, also looking in the sbin folders Debian installs it to. */
export function findNatsServer(): string {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/sbin']);
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = `${dir}/nats-server`;
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new NatsServerUnavailableError(
    'nats-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install nats-server`) ' +
      'or set NATS_URL to a running server.',
  );
}
