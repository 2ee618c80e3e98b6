import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SelfMetrics } from '../self-metrics.ts';

/**
 * The HTTP endpoint of a running topology: `/metrics` (self-metrics in the Prometheus text
 * format), `/-/healthy` and `/-/ready`, and whatever is mounted (the query API, query/api/).
 */
export class ApiServer {
  private server: Server | undefined;
  private ready = false;
  private readonly mounted: Array<(req: IncomingMessage, res: ServerResponse) => boolean> = [];

  constructor(private readonly metrics: SelfMetrics) {}

  setReady(ready: boolean): void {
    this.ready = ready;
  }

  /** Adds a handler asked first, in mount order; it returns true when it answered the request. */
  mount(handler: (req: IncomingMessage, res: ServerResponse) => boolean): void {
    this.mounted.push(handler);
  }

  async listen(listen: string): Promise<string> {
    const colon = listen.lastIndexOf(':');
    const host = listen.slice(0, colon) || '0.0.0.0';
    const port = Number(listen.slice(colon + 1));
    const server = createServer((req, res) => {
      for (const handler of this.mounted) if (handler(req, res)) return;
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        this.metrics.registry.metrics().then(
          (body) => {
            res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType });
            res.end(body);
          },
          (error: Error) => {
            res.writeHead(500, { 'Content-Type': 'text/plain' });
            res.end(`collecting metrics failed: ${error.message}\n`);
          },
        );
      } else if (path === '/-/healthy') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('sluice is healthy.\n');
      } else if (path === '/-/ready') {
        res.writeHead(this.ready ? 200 : 503, { 'Content-Type': 'text/plain' });
        res.end(this.ready ? 'sluice is ready.\n' : 'sluice is not ready.\n');
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address ? `${host}:${address.port}` : listen;
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
