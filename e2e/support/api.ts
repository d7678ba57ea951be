import pg from 'pg';
import { inject } from 'vitest';
import { recordCardsSent, recordHttpAnswer } from './scan-sources';

export const platform = inject('platform');

export interface ApiResponse<Body = Record<string, any>> {
  status: number;
  body: Body;
  headers: Headers;
}

/**
 * Calls the merchant API as a merchant would (fetch, JSON). `key: null` sends no Authorization header.
 * Every answer, and the card numbers each request carried, are recorded for the card-data scan.
 */
export async function api<Body = Record<string, any>>(
  path: string,
  options: { method?: string; body?: unknown; rawBody?: string; key?: string | null; headers?: Record<string, string> } = {},
): Promise<ApiResponse<Body>> {
  const key = options.key === undefined ? platform.apiKey : options.key;
  const headers: Record<string, string> = { ...(key !== null ? { authorization: `Bearer ${key}` } : {}), ...options.headers };
  const hasBody = options.body !== undefined || options.rawBody !== undefined;
  if (hasBody) headers['content-type'] ??= 'application/json';
  const method = options.method ?? (hasBody ? 'POST' : 'GET');
  recordCardsSent(platform.dataDir, options.body, options.rawBody);
  const response = await fetch(`${platform.apiUrl}${path}`, {
    method,
    headers,
    body: options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
  });
  const text = await response.text();
  recordHttpAnswer(platform.dataDir, { request: `${method} ${path}`, status: response.status, headers: headerLines(response.headers), body: text });
  return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
}

export function headerLines(headers: Headers): string {
  return [...headers].map(([name, value]) => `${name}: ${value}`).join('\n');
}

// Every card the suite sends expires a few years from now, whenever it runs: a fixed year would make
// every payment fail as expired once it passed (the vault and the PSP simulator check against the clock).
export const cardExpiryYear = new Date().getUTCFullYear() + 4;

export const testCards = {
  visa: '4242424242424242',
  mastercard: '5555555555554444',
  declined: '4000000000000002',
  insufficientFunds: '4000000000009995',
  processingError: '4000000000000119',
  threeDSecure: '4000000000003220',
} as const;

export function cardPayment(overrides: Record<string, unknown> = {}, card: Record<string, unknown> = {}) {
  return {
    amount: 2000,
    currency: 'USD',
    payment_method: { type: 'card', card: { number: testCards.visa, exp_month: 12, exp_year: cardExpiryYear, cvc: '123', ...card } },
    ...overrides,
  };
}

let pool: pg.Pool | undefined;

/** Read-only looks into the platform's database, to prove what was (not) stored. */
export async function sql<Row = Record<string, any>>(text: string, values: unknown[] = []): Promise<Row[]> {
  pool ??= new pg.Pool({ connectionString: platform.databaseUrl, max: 2 });
  return (await pool.query(text, values)).rows as Row[];
}

export async function simulatorStats(): Promise<Record<string, any>> {
  return (await fetch(`${platform.simulatorUrl}/_sim/stats`)).json() as Promise<Record<string, any>>;
}

export async function simulatorControl(settings: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${platform.simulatorUrl}/_sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) });
  if (!response.ok) throw new Error(`simulator control refused: ${response.status} ${await response.text()}`);
}

/** Polls until `check` returns a value or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
