// A round-robin TCP load balancer in front of the intake replicas, as a Kubernetes Service would be:
// each new connection goes to the next replica that accepts it.
import { createConnection, createServer } from 'node:net';

export function startLoadBalancer({ port, backends, log = () => {} }) {
  let next = 0;
  const server = createServer((client) => {
    client.pause();
    tryBackend(client, 0);
  });
  function tryBackend(client, tried) {
    if (tried >= backends.length) {
      client.destroy();
      return;
    }
    const backend = backends[next++ % backends.length];
    const upstream = createConnection({ host: '127.0.0.1', port: backend });
    upstream.once('connect', () => {
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    upstream.once('error', (error) => {
      if (upstream.connecting || !upstream.readable) {
        log(`backend ${backend} refused (${error.code}), trying the next`);
        tryBackend(client, tried + 1);
      } else client.destroy();
    });
    client.once('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}
