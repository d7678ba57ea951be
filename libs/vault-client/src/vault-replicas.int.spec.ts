import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { grpcServiceDefinition, vaultV1 } from '@dirigen/contracts';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VaultClient } from './vault-client';
import { VaultUnavailableError } from './vault-client-error';
import { vaultChannelCredentials } from './vault-tls';

// Two vault replicas (real grpc-js servers sharing one certificate, as the platform runs them) behind
// one VaultClient given both addresses: calls spread over both, a stopped or killed replica is skipped.
// Each replica is reached through a TCP relay, so a kill -9 is what the client sees of one: every
// connection dropped at once, without an HTTP/2 goodbye (a grpc-js server's own shutdown cancels calls politely).

const timeoutMs = 2_000;
const callerSecret = 'a-secret-of-16-chars';
let tls: { ca: string; vault: { cert: string; key: string }; callers: Record<string, { cert: string; key: string }> };

/** A replica answering LookupToken with its own name in `brand`, and leaving Detokenize and DeleteToken hanging when told to. */
interface Replica {
  name: string;
  /** Where clients reach it: the relay's port. */
  port: number;
  server: Server;
  relay: TcpServer;
  sockets: Set<Socket>;
  calls: string[];
  hang: boolean;
  /** Resolves when a hanging call has arrived. */
  arrived: Promise<void>;
}

/** As the kernel does for a process killed with SIGKILL: its listener and every connection gone at once. */
function kill(replica: Replica): void {
  replica.relay.close();
  for (const socket of replica.sockets) socket.destroy();
  replica.server.forceShutdown();
}

const replicas: Replica[] = [];
const clients: VaultClient[] = [];

afterEach(() => {
  clients.splice(0).forEach((client) => client.close());
  replicas.splice(0).forEach(kill);
});

beforeAll(async () => {
  const { issueVaultTls } = (await import(resolve(process.cwd(), 'scripts/platform/vault-tls.mjs'))) as { issueVaultTls: (dir: string, options: { caName: string }) => typeof tls };
  tls = issueVaultTls(mkdtempSync(join(tmpdir(), 'vault-replicas-tls-')), { caName: 'vault-replicas int test CA' });
});

/** A replica reached on `port` (0: any free one). */
async function startReplica(name: string, port = 0): Promise<Replica> {
  let arrivedNow: () => void = () => {};
  const arrived = new Promise<void>((done) => (arrivedNow = done));
  const replica: Replica = { name, port, server: new Server(), relay: createServer(), sockets: new Set(), calls: [], hang: false, arrived };
  const answer = <Request, Response>(method: string, response: () => Response) => (_call: ServerUnaryCall<Request, Response>, callback: sendUnaryData<Response>) => {
    replica.calls.push(method);
    if (replica.hang) return arrivedNow();
    callback(null, response());
  };
  replica.server.addService(grpcServiceDefinition(vaultV1.VaultService), {
    LookupToken: answer('LookupToken', () => ({ cardFacts: { token: 'tok_1', brand: name, last4: '4242', bin: '424242', expMonth: 12, expYear: 2030, fingerprint: 'fp' } })),
    Detokenize: answer('Detokenize', () => ({ card: { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' } })),
    DeleteToken: answer('DeleteToken', () => ({})),
  });
  const credentials = ServerCredentials.createSsl(readFileSync(tls.ca), [{ private_key: readFileSync(tls.vault.key), cert_chain: readFileSync(tls.vault.cert) }], true);
  const serverPort = await new Promise<number>((done, fail) => replica.server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? fail(error) : done(bound))));
  replica.relay.on('connection', (client) => {
    const upstream = connect(serverPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      replica.sockets.add(socket);
      socket.on('error', () => undefined).on('close', () => replica.sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((done) => replica.relay.listen(port, '127.0.0.1', done));
  replica.port = (replica.relay.address() as { port: number }).port;
  replicas.push(replica);
  return replica;
}

function clientOf(...targets: Replica[]): VaultClient {
  const client = new VaultClient({
    address: targets.map((replica) => `127.0.0.1:${replica.port}`).join(','),
    caller: 'gateway',
    callerSecret,
    timeoutMs,
    channelCredentials: vaultChannelCredentials({ kind: 'mutual', caFile: tls.ca, certFile: tls.callers.gateway!.cert, keyFile: tls.callers.gateway!.key }),
    // Both replicas carry the one vault certificate, which names localhost: it must verify on every connection.
    tlsServerName: 'localhost',
  });
  clients.push(client);
  return client;
}

async function brandsOf(client: VaultClient, calls: number): Promise<string[]> {
  const brands: string[] = [];
  for (let call = 0; call < calls; call++) brands.push((await client.lookup('mer_1', 'tok_1'))!.brand);
  return brands;
}

describe('VaultClient over several vault replicas', () => {
  it('spreads calls round robin over every replica, verifying the shared vault certificate on each', async () => {
    const [a, b] = [await startReplica('a'), await startReplica('b')];
    const client = clientOf(a, b);
    // The first calls may all go to whichever replica is ready first; once both are, they alternate.
    await brandsOf(client, 4);
    const brands = await brandsOf(client, 10);
    expect(brands.filter((brand) => brand === 'a').length).toBe(5);
    expect(brands.filter((brand) => brand === 'b').length).toBe(5);
  });

  it('keeps every call succeeding when one replica is killed, and uses it again once it is back', async () => {
    const [a, b] = [await startReplica('a'), await startReplica('b')];
    const client = clientOf(a, b);
    await brandsOf(client, 4);
    const port = a.port;
    kill(a);
    expect(await brandsOf(client, 20)).toEqual(Array.from({ length: 20 }, () => 'b'));

    // The same replica restarted on its port (as the supervisor would): the client reconnects to it.
    await startReplica('a-again', port);
    const deadline = Date.now() + 10_000;
    let brands: string[] = [];
    while (Date.now() < deadline && !brands.includes('a-again')) brands = await brandsOf(client, 4);
    expect(brands).toContain('a-again');
  });

  it('retries an idempotent call on the other replica when its replica dies under it, within the deadline', async () => {
    const [a, b] = [await startReplica('a'), await startReplica('b')];
    const client = clientOf(a, b);
    await brandsOf(client, 4);
    a.hang = true;
    b.hang = false;
    // Round robin: of two detokenize calls one lands on the hanging replica, which then dies.
    const startedAt = Date.now();
    const calls = [1, 2].map(() => client.detokenize({ merchantId: 'mer_1', token: 'tok_1', paymentId: 'pay_1', purpose: 'authorization' }));
    await a.arrived;
    kill(a);
    const results = await Promise.all(calls);
    expect(results.map((result) => result.ok && result.card.cvc)).toEqual(['123', '123']);
    expect(a.calls.filter((method) => method === 'Detokenize')).toHaveLength(1);
    expect(b.calls.filter((method) => method === 'Detokenize')).toHaveLength(2);
    expect(Date.now() - startedAt).toBeLessThan(timeoutMs);
  });

  it('does not repeat a call that is not idempotent (DeleteToken) when its replica dies under it: the caller learns the vault was unavailable', async () => {
    const [a, b] = [await startReplica('a'), await startReplica('b')];
    const client = clientOf(a, b);
    await brandsOf(client, 4);
    a.hang = true;
    const calls = [1, 2].map(() => client.deleteToken('mer_1', 'tok_1').then((deleted) => ({ deleted }), (error: unknown) => ({ error })));
    await a.arrived;
    kill(a);
    const results = await Promise.all(calls);
    expect(results).toContainEqual({ deleted: true });
    const failed = results.find((result): result is { error: unknown } => 'error' in result);
    expect(failed?.error).toBeInstanceOf(VaultUnavailableError);
    expect(failed?.error).toMatchObject({ grpcStatus: status.UNAVAILABLE });
    expect(b.calls.filter((method) => method === 'DeleteToken')).toHaveLength(1);
  });
});
