/**
 * A TCP proxy on loopback that delays every chunk by a fixed time in each direction: added latency for kernels
 * without netem (`sch_netem`), e.g. some VM kernels. Chunks keep their order (equal delays fire in the order set).
 * It models latency, not bandwidth; TCP's own ACK clocking on the proxied legs stays fast, so netem (which delays
 * every packet) is the more faithful model where it exists.
 */
import { connect, createServer, type Socket } from "node:net";

export interface LatencyProxy {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startLatencyProxy(options: { target: { host: string; port: number }; oneWayMs: number; listenHost?: string }): Promise<LatencyProxy> {
  const sockets = new Set<Socket>();
  const delayed = (from: Socket, to: Socket) => {
    from.on("data", (chunk) => setTimeout(() => to.destroyed || to.write(chunk), options.oneWayMs));
    from.on("end", () => setTimeout(() => to.destroyed || to.end(), options.oneWayMs));
    from.on("error", () => to.destroy());
    from.on("close", () => setTimeout(() => to.destroy(), options.oneWayMs + 10));
  };
  const server = createServer((client) => {
    const upstream = connect(options.target.port, options.target.host);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    delayed(client, upstream);
    delayed(upstream, client);
  });
  const host = options.listenHost ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("latency proxy: no address");
  return {
    host,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
