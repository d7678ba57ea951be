import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, HttpTransportError } from './http-client';

// A local node:http server stands in for a PSP; each path answers in one misbehaving way.
let server: http.Server;
let baseUrl: string;
const seen: { method?: string; url?: string; contentType?: string; body?: string; remotePort?: number }[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      seen.push({ method: request.method, url: request.url, contentType: request.headers['content-type'], body, remotePort: request.socket.remotePort });
      if (request.url === '/prefix/echo') return void response.writeHead(201, { 'x-psp': 'yes' }).end('{"ok":true}');
      if (request.url === '/prefix/big') return void response.end('x'.repeat(2048));
      if (request.url === '/prefix/cut') {
        response.writeHead(200, { 'content-length': '100' });
        response.write('partial');
        setTimeout(() => response.destroy(), 20);
        return;
      }
      // '/prefix/silent' never answers
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function failureOf(promise: Promise<unknown>): Promise<HttpTransportError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HttpTransportError);
  return error as HttpTransportError;
}

describe('HttpClient', () => {
  it('sends a form below the base path and returns status, headers, body and latency', async () => {
    const client = new HttpClient({ baseUrl, timeoutMs: 1000, maxSockets: 4 });
    const form = new URLSearchParams({ 'a[b]': 'c' });
    const response = await client.send({ method: 'POST', path: '/echo', headers: { 'x-test': '1' }, body: { kind: 'form', form } });
    client.close();
    expect(response).toMatchObject({ status: 201, bodyText: '{"ok":true}', headers: { 'x-psp': 'yes' } });
    expect(response.latencyMs).toBeGreaterThanOrEqual(0);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/prefix/echo', contentType: 'application/x-www-form-urlencoded', body: 'a%5Bb%5D=c' });
  });

  it('reuses one kept-alive socket for sequential calls', async () => {
    const client = new HttpClient({ baseUrl, timeoutMs: 1000, maxSockets: 1 });
    await client.send({ method: 'GET', path: '/echo', headers: {} });
    const firstPort = seen.at(-1)!.remotePort;
    await client.send({ method: 'POST', path: '/echo', headers: {}, body: { kind: 'json', json: { n: 1 } } });
    client.close();
    expect(seen.at(-1)).toMatchObject({ remotePort: firstPort, contentType: 'application/json', body: '{"n":1}' });
  });

  it('gives up at the deadline with a timeout, not a retry', async () => {
    const client = new HttpClient({ baseUrl, timeoutMs: 150, maxSockets: 1 });
    const before = seen.length;
    const error = await failureOf(client.send({ method: 'GET', path: '/silent', headers: {} }));
    client.close();
    expect(error.failure).toBe('timeout');
    expect(error.latencyMs).toBeGreaterThanOrEqual(140);
    expect(seen.length - before).toBe(1);
  });

  it('refuses an answer larger than its limit', async () => {
    const client = new HttpClient({ baseUrl, timeoutMs: 1000, maxSockets: 1, responseBytesMax: 1024 });
    expect((await failureOf(client.send({ method: 'GET', path: '/big', headers: {} }))).failure).toBe('network');
    client.close();
  });

  it('reports an answer cut off mid-body as a network failure', async () => {
    const client = new HttpClient({ baseUrl, timeoutMs: 1000, maxSockets: 1 });
    expect((await failureOf(client.send({ method: 'GET', path: '/cut', headers: {} }))).failure).toBe('network');
    client.close();
  });

  it('says a refused connection was never sent', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const client = new HttpClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 1000, maxSockets: 1 });
    expect((await failureOf(client.send({ method: 'GET', path: '/', headers: {} }))).failure).toBe('not_sent');
    client.close();
  });
});
