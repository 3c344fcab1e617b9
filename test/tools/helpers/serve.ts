// A loopback HTTP server that plays a release download site for the tool tests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSite {
  readonly baseUrl: string;
  /** Paths requested so far, in order. */
  readonly requests: string[];
  /** path -> body; change it between calls to simulate a changed release. */
  readonly files: Map<string, Buffer | string>;
  close(): Promise<void>;
}

export async function serveFiles(files: Record<string, Buffer | string>): Promise<FakeSite> {
  const map = new Map(Object.entries(files));
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    requests.push(path);
    const body = map.get(path);
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    files: map,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((done) => s.listen(0, '127.0.0.1', done));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((done) => s.close(() => done()));
  return port;
}
