// The load generator's HTTP client: node:http with one keep-alive Agent and a deadline per request,
// plus the two requests the bench sends (a card payment to Dirigen, a PaymentIntent to the simulator).
//
// Why node:http and not fetch: measured on the 2-core development VM (open loop, 400 requests/s to a
// local server answering after 50 ms, two rounds each), node:http with a keep-alive Agent cost the
// generator 0.45–0.56 ms of CPU per request, Node's built-in fetch (undici inside Node 20) 0.67–1.42 ms,
// and fetch's own latency grew under that load where node:http's did not. The undici package's Pool
// is not a dependency and was not tried.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

/** Largest answer body read: a payment object is a few KiB. */
const answerBytesMax = 1024 * 1024;

/**
 * `send(url, { method, headers, body })` resolves (never rejects) with `{ status, headers, bodyText }`
 * or `{ error }`: `no answer within N s` after `timeoutMs`, or `connection <code>`.
 */
export function createLoadClient({ socketsMax, timeoutMs }) {
  const agent = new Agent({ keepAlive: true, maxSockets: socketsMax, maxFreeSockets: socketsMax, scheduling: 'lifo' });
  const send = (url, { method, headers, body }) =>
    new Promise((resolve) => {
      const target = new URL(url);
      let settled = false;
      const settle = (answer) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(answer);
      };
      const outgoing = request(
        { host: target.hostname, port: target.port, path: target.pathname + target.search, method, agent, headers: { ...headers, 'content-length': Buffer.byteLength(body ?? '') } },
        (incoming) => {
          const chunks = [];
          let bytes = 0;
          incoming.on('data', (chunk) => {
            bytes += chunk.length;
            if (bytes > answerBytesMax) outgoing.destroy(new Error('answer too large'));
            else chunks.push(chunk);
          });
          incoming.on('end', () => settle({ status: incoming.statusCode, headers: incoming.headers, bodyText: Buffer.concat(chunks).toString('utf8') }));
          incoming.on('error', (error) => settle({ error: `connection ${error.code ?? error.message}` }));
        },
      );
      const deadline = setTimeout(() => {
        settle({ error: `no answer within ${timeoutMs / 1000} s` });
        outgoing.destroy();
      }, timeoutMs);
      outgoing.on('error', (error) => settle({ error: `connection ${error.code ?? error.message}` }));
      outgoing.end(body);
    });
  return { send, close: () => agent.destroy() };
}

const approvedCard = { number: '4242424242424242', exp_month: 12, exp_year: new Date().getUTCFullYear() + 4, cvc: '123' };

/** One card payment, as a merchant sends it: its own Idempotency-Key, an approved card. */
export function sendPayment(client, { apiUrl, apiKey }, index) {
  const body = JSON.stringify({ amount: 1000 + (index % 1000), currency: 'USD', payment_method: { type: 'card', card: approvedCard } });
  return client.send(`${apiUrl}/v1/payments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': `bench-${randomUUID()}` },
    body,
  });
}

/** A payment as the merchant reads it back. */
export function fetchPayment(client, { apiUrl, apiKey }, paymentId) {
  return client.send(`${apiUrl}/v1/payments/${encodeURIComponent(paymentId)}`, { method: 'GET', headers: { authorization: `Bearer ${apiKey}` } });
}

/** The same authorization sent straight to the simulator, as the gateway's connector sends it. */
export function sendDirect(client, { simulatorUrl }, index) {
  const body = new URLSearchParams({
    amount: String(1000 + (index % 1000)), currency: 'usd', confirm: 'true', capture_method: 'automatic',
    'payment_method_types[0]': 'card', 'payment_method_data[type]': 'card', 'payment_method_data[card][number]': approvedCard.number,
    'payment_method_data[card][exp_month]': String(approvedCard.exp_month), 'payment_method_data[card][exp_year]': String(approvedCard.exp_year),
    'payment_method_data[card][cvc]': approvedCard.cvc,
  }).toString();
  return client.send(`${simulatorUrl}/v1/payment_intents`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_bench', 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': randomUUID() },
    body,
  });
}
