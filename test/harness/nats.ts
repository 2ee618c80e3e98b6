import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LocalNatsServer } from '../../pipelines/services/nats-server.ts';
import type { ComponentRegistry } from '../../pipelines/registry.ts';
import { startTopology, type RunningTopology } from './topology.ts';

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

export interface NatsPerTest {
  /** The test's nats-server (valid inside a test). */
  readonly nats: NatsFixture;
  /** A client connection to it. */
  readonly nc: NatsConnection;
  /** Runs after the test, before the connection closes and the server goes (e.g. stopping a topology). */
  onCleanup(fn: () => Promise<unknown> | unknown): void;
  /** Starts a topology on the test's nats-server, stopped after the test (stopping it earlier is fine). */
  startTopology(yaml: string, registry?: ComponentRegistry): Promise<RunningTopology>;
}

/**
 * A fresh nats-server and a client for every test of the calling file or describe block; cleanups
 * registered during a test run after it, newest first, then the client closes and the server and
 * its directory go.
 */
export function natsPerTest(): NatsPerTest {
  let nats: NatsFixture | undefined;
  let nc: NatsConnection | undefined;
  let cleanups: Array<() => Promise<unknown> | unknown> = [];
  beforeEach(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.server.url });
  });
  afterEach(async () => {
    const pending = cleanups.reverse();
    cleanups = [];
    for (const fn of pending) await fn();
    await nc?.close();
    await nats?.cleanup();
  });
  return {
    get nats() {
      if (!nats) throw new Error('bug: natsPerTest() used outside a test');
      return nats;
    },
    get nc() {
      if (!nc) throw new Error('bug: natsPerTest() used outside a test');
      return nc;
    },
    onCleanup: (fn) => cleanups.push(fn),
    async startTopology(yaml, registry) {
      const topo = await startTopology(yaml, this.nats.server.url, registry);
      cleanups.push(() => topo.runtime.stop());
      return topo;
    },
  };
}
