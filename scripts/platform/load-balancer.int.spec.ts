import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the launcher, without types
import { startLoadBalancer } from './load-balancer.mjs';

type Handler = Parameters<typeof createServer>[1];
const servers: Server[] = [];

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A replica that answers with its name and the body it read. */
function replica(name: string, handler?: Handler): Promise<number> {
  return listen(
    createServer(
      handler ??
        ((request, response) => {
          const chunks: Buffer[] = [];
          request.on('data', (chunk: Buffer) => chunks.push(chunk));
          request.on('end', () => response.end(JSON.stringify({ name, body: Buffer.concat(chunks).toString() })));
        }),
    ),
  );
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function balancer(backends: number[]): Promise<string> {
  const server: Server = await startLoadBalancer({ port: 0, host: '127.0.0.1', backends });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('the platform load balancer', () => {
  it('spreads requests over the replicas, round robin, body and answer passed through', async () => {
    const url = await balancer([await replica('a'), await replica('b')]);
    const names = [];
    for (let index = 0; index < 4; index++) {
      const answer = await (await fetch(`${url}/v1/x`, { method: 'POST', body: `n=${index}` })).json();
      expect(answer.body).toBe(`n=${index}`);
      names.push(answer.name);
    }
    expect(names.sort()).toEqual(['a', 'a', 'b', 'b']);
  });

  it('skips a replica that refuses the connection', async () => {
    const url = await balancer([await closedPort(), await replica('b'), await closedPort()]);
    for (let index = 0; index < 3; index++) expect((await (await fetch(`${url}/v1/x`, { method: 'POST', body: 'x' })).json()).name).toBe('b');
  });

  it('answers 503 in the error shape with Retry-After when no replica is up, never a reset', async () => {
    const url = await balancer([await closedPort(), await closedPort()]);
    const response = await fetch(`${url}/v1/payments`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await response.json()).error).toMatchObject({ type: 'api_error', code: 'no_replica_available' });
  });

  it('sends each retry to another replica, even while other requests move the round robin on', async () => {
    const dying = await replica('dying', (request) => request.socket.destroy());
    const url = await balancer([dying, await closedPort(), await replica('c')]);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, index) => fetch(`${url}/v1/payments`, { method: 'POST', body: `n=${index}`, headers: { 'idempotency-key': `k-${index}` } }).then((response) => response.status)),
    );
    expect(answers).toEqual(Array(30).fill(200));
  });

  it('repeats a request with an Idempotency-Key on another replica when the first dies holding it', async () => {
    const dying = await replica('dying', (request) => request.socket.destroy());
    const url = await balancer([dying, await replica('b')]);
    const response = await fetch(`${url}/v1/payments`, { method: 'POST', body: 'same body', headers: { 'idempotency-key': 'k-1' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: 'b', body: 'same body' });
  });

  it('does not repeat a POST without an Idempotency-Key that may have been applied: 502, the client decides', async () => {
    let seen = 0;
    const dying = await replica('dying', (request) => {
      seen++;
      request.socket.destroy();
    });
    const url = await balancer([dying, await replica('b')]);
    const response = await fetch(`${url}/v1/payments`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(502);
    expect((await response.json()).error.code).toBe('replica_failed');
    expect(seen).toBe(1);
  });

  it('lets a client that sends 5 MB read the replica\'s early 413, with and without Content-Length', async () => {
    const refusing = await replica('refusing', (request, response) => {
      // As Fastify does for a body over its limit: answer at once; Node discards the rest of the body.
      response.writeHead(413, { 'content-type': 'application/json' }).end('{"error":{"type":"invalid_request_error","code":"body_too_large","message":"too large"}}');
      request.resume();
    });
    const url = await balancer([refusing]);
    const fiveMegabytes = Buffer.alloc(5 * 1024 * 1024, 'a');
    const declared = await fetch(`${url}/v1/payments`, { method: 'POST', body: fiveMegabytes });
    expect(declared.status).toBe(413);
    const chunked = await fetch(`${url}/v1/payments`, {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          for (let offset = 0; offset < fiveMegabytes.length; offset += 65_536) controller.enqueue(fiveMegabytes.subarray(offset, offset + 65_536));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });
});
