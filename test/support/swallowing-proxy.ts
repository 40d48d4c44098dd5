// An HTTP proxy in front of a real MLflow server that can start swallowing requests: it takes them and never answers,
// like a tracking server that hangs. For the outage test and bench/tracking-outage.ts.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface SwallowingProxy {
  url: string;
  /** Requests taken while swallowing, never answered. */
  held: ServerResponse[];
  swallow(): void;
  forward(): void;
  close(): Promise<void>;
}

/** Forwards to `target`; swallows from `swallow()` on, or once the answer to a URL containing `swallowAfter` went out. */
export async function startSwallowingProxy(target: string, options: { swallowAfter?: string } = {}): Promise<SwallowingProxy> {
  const held: ServerResponse[] = [];
  let swallowing = false;
  const forward = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const answer = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers: req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {},
      body: body.length > 0 ? body : undefined,
    });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await answer.arrayBuffer()));
    if (options.swallowAfter && req.url?.includes(options.swallowAfter)) swallowing = true;
  };
  const server = createServer((req, res) => {
    if (swallowing) return void held.push(res);
    // A target that is gone looks like one to the client too: its connection drops.
    forward(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    held,
    swallow: () => void (swallowing = true),
    forward: () => void (swallowing = false),
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
