import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy to a server that can be frozen: while frozen it keeps every connection open but
 * passes no byte either way (a stopped server or a network that drops packets without a reset),
 * and new connections are accepted and held the same way. Thawed, the held bytes flow on.
 */
export interface FreezableProxy {
  readonly port: number;
  /** Client connections currently open through the proxy. */
  openConnections(): number;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startFreezableProxy(
  targetHost: string,
  targetPort: number,
): Promise<FreezableProxy> {
  let frozen = false;
  const sockets = new Set<Socket>();
  let open = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    if (frozen) socket.pause();
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    open++;
    client.once('close', () => open--);
    const upstream = connect(targetPort, targetHost);
    client.pipe(upstream);
    upstream.pipe(client);
    // After pipe(), which sets the sockets flowing.
    track(client);
    track(upstream);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    openConnections: () => open,
    freeze() {
      frozen = true;
      for (const socket of sockets) socket.pause();
    },
    thaw() {
      frozen = false;
      for (const socket of sockets) socket.resume();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
