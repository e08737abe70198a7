/**
 * A loopback HTTP proxy that passes requests to `target` unchanged and delivers response bodies
 * at a limited rate: a slow network in front of the fake Hub, so a pull lasts long enough for
 * its progress to be watched in the UI.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowProxy {
  url: string;
  close(): Promise<void>;
}

export async function startSlowProxy(target: string, bytesPerSecond: number): Promise<SlowProxy> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const out = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('data', (chunk: Buffer) => {
          res.write(chunk);
          // Pause for as long as this chunk "takes" on the slow link.
          up.pause();
          setTimeout(() => up.resume(), (chunk.length / bytesPerSecond) * 1000);
        });
        up.on('end', () => res.end());
        up.on('error', () => res.destroy());
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
