import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP load balancer in front of the nodes, as a page sees the cluster: one URL. `route()` picks
 * the node new connections reach (a websocket stays on the node it reached, as with sticky
 * sessions); `hold()` refuses new connections (the page keeps retrying); `cut()` drops every
 * connection it carries, so the page reconnects through it.
 */
export interface Balancer {
  readonly url: string;
  route(nodeUrl: string): void;
  hold(): void;
  cut(): void;
  close(): Promise<void>;
}

const portOf = (url: string): number => Number(new URL(url).port);

export async function startBalancer(firstUrl: string): Promise<Balancer> {
  let target: number | null = portOf(firstUrl);
  const open = new Set<Socket>();
  const server = createServer((inbound) => {
    if (target === null) {
      inbound.destroy();
      return;
    }
    const outbound = createConnection({ port: target, host: '127.0.0.1' });
    open.add(inbound);
    open.add(outbound);
    const close = (): void => {
      inbound.destroy();
      outbound.destroy();
      open.delete(inbound);
      open.delete(outbound);
    };
    for (const socket of [inbound, outbound]) {
      socket.on('error', close);
      socket.on('close', close);
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    route(nodeUrl) {
      target = portOf(nodeUrl);
    },
    hold() {
      target = null;
    },
    cut() {
      for (const socket of [...open]) socket.destroy();
    },
    close() {
      for (const socket of [...open]) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
