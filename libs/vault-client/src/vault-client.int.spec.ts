import { createServer, type Server, type Socket } from 'node:net';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { VaultClient } from './vault-client';
import { VaultUnavailableError } from './vault-client-error';

const timeoutMs = 500;
const clients: VaultClient[] = [];
const servers: Server[] = [];
const peerSockets: Socket[] = [];
afterEach(async () => {
  clients.splice(0).forEach((client) => client.close());
  peerSockets.splice(0).forEach((socket) => socket.destroy());
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

function clientOf(address: string, caller: 'intake' | 'gateway'): VaultClient {
  const client = new VaultClient({ address, caller, callerSecret: 'a-secret-of-16-chars', timeoutMs });
  clients.push(client);
  return client;
}

/** A TCP port that accepted connections a moment ago and now refuses them. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** A peer that accepts TCP connections and never says a word: a hung vault, or a network black hole. */
async function silentPeer(): Promise<number> {
  const server = createServer((socket) => peerSockets.push(socket));
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as { port: number }).port;
}

describe('VaultClient over a real channel', () => {
  it('reports a vault that refuses connections as unavailable (intake answers 503), without waiting for the deadline', async () => {
    const intake = clientOf(`127.0.0.1:${await closedPort()}`, 'intake');
    const startedAt = Date.now();
    const failure = intake.tokenize('mer_1', { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' }, 'payment');
    await expect(failure).rejects.toBeInstanceOf(VaultUnavailableError);
    await expect(failure).rejects.toMatchObject({ code: 'unreachable', grpcStatus: status.UNAVAILABLE });
    expect(Date.now() - startedAt).toBeLessThan(timeoutMs);
  });

  it('gives up on a vault that never answers at the deadline, so the gateway retries the event instead of hanging', async () => {
    const gateway = clientOf(`127.0.0.1:${await silentPeer()}`, 'gateway');
    const startedAt = Date.now();
    const failure = gateway.detokenize({ merchantId: 'mer_1', token: 'tok_1', paymentId: 'pay_1', purpose: 'authorization' });
    await expect(failure).rejects.toBeInstanceOf(VaultUnavailableError);
    await expect(failure).rejects.toMatchObject({ code: 'deadline_exceeded', grpcStatus: status.DEADLINE_EXCEEDED });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(timeoutMs - 50);
  });
});
