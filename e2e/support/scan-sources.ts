// What the e2e suite leaves behind for the card-data scan (the `scan` project, run by `npm test` after the e2e
// stage, when the platform is stopped): the suite records every HTTP answer, every span and the card numbers
// it sent into files under `<e2e data dir>/recorded/`; the scan reads those, every log under the data dir, the
// broker's log and the PostgreSQL server's log. Kafka topics and the database dump are read with
// card-data-scan.ts's readers. The rule that decides what is a card number stays in card-data-scan.ts.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import pg from 'pg';
import { dumpDatabase, type ScanUnit } from './card-data-scan';

export const recordedDirName = 'recorded';
const httpAnswersFile = 'http-answers.jsonl';
const spansFile = 'spans.jsonl';
const cardsSentFile = 'cards-sent.jsonl';
const postgresLogBaselineFile = 'postgres-log-baseline.json';
const paymentsFile = 'no-card-data-payments.json';
const cardNumberDigits = /^\d{12,19}$/;
// Debian and Ubuntu's pg_ctlcluster sends a cluster's output here when the server's own log collector is off.
const packagedLogDir = '/var/log/postgresql';

export const recordedPath = (dataDir: string, file: string) => join(dataDir, recordedDirName, file);

function appendLine(dataDir: string, file: string, record: unknown): void {
  mkdirSync(join(dataDir, recordedDirName), { recursive: true });
  appendFileSync(recordedPath(dataDir, file), `${JSON.stringify(record)}\n`);
}

function readLines(dataDir: string, file: string): string[] {
  const path = recordedPath(dataDir, file);
  return existsSync(path) ? readFileSync(path, 'latin1').split('\n').filter((line) => line !== '') : [];
}

export interface HttpAnswer {
  request: string;
  status: number;
  headers: string;
  body: string;
}

/** Keeps one answer the suite got (its request line, status, headers and raw body), for the scan. */
export function recordHttpAnswer(dataDir: string, answer: HttpAnswer): void {
  appendLine(dataDir, httpAnswersFile, answer);
}

export function httpAnswerUnits(dataDir: string): ScanUnit[] {
  return readLines(dataDir, httpAnswersFile).flatMap((line, index) => {
    const { request, status, headers, body } = JSON.parse(line) as HttpAnswer;
    const at = `http #${index + 1} ${request} → ${status}`;
    return [
      { source: `${at} headers`, text: headers },
      { source: `${at} body`, text: body },
    ];
  });
}

/**
 * Keeps the card numbers a request carried (every `number` field of its JSON body, and `"number":…` in a raw
 * body), so the scan looks for each in every shape it could leak in, not only as a Luhn-valid digit run.
 */
export function recordCardsSent(dataDir: string, body: unknown, rawBody?: string): void {
  const numbers = new Set<string>();
  const visit = (value: unknown, key?: string): void => {
    if (key === 'number' && (typeof value === 'string' || typeof value === 'number')) {
      const digits = String(value).replace(/[ -]/g, '');
      if (cardNumberDigits.test(digits)) numbers.add(digits);
    } else if (value && typeof value === 'object') {
      for (const [name, inner] of Object.entries(value)) visit(inner, name);
    }
  };
  visit(body);
  for (const match of rawBody?.matchAll(/"number"\s*:\s*"?([\d -]{12,25})/g) ?? []) {
    const digits = match[1]!.replace(/[ -]/g, '');
    if (cardNumberDigits.test(digits)) numbers.add(digits);
  }
  if (numbers.size > 0) appendLine(dataDir, cardsSentFile, [...numbers]);
}

export function cardsSent(dataDir: string): string[] {
  return [...new Set(readLines(dataDir, cardsSentFile).flatMap((line) => JSON.parse(line) as string[]))].sort();
}

/** What no-card-data.e2e.spec.ts paid: the scan proves it reads the right places by finding each payment in them. */
export function recordPayments(dataDir: string, paymentIds: string[]): void {
  mkdirSync(join(dataDir, recordedDirName), { recursive: true });
  writeFileSync(recordedPath(dataDir, paymentsFile), JSON.stringify(paymentIds));
}

export function paymentsRecorded(dataDir: string): string[] | undefined {
  const path = recordedPath(dataDir, paymentsFile);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as string[]) : undefined;
}

/** Keeps one OTLP export's spans as received, one line each: the span with its resource and scope. */
export function recordSpans(dataDir: string, body: { resourceSpans?: { resource?: unknown; scopeSpans?: { scope?: unknown; spans?: unknown[] }[] }[] }): void {
  const lines = (body.resourceSpans ?? []).flatMap(({ resource, scopeSpans }) =>
    (scopeSpans ?? []).flatMap(({ scope, spans }) => (spans ?? []).map((span) => JSON.stringify({ resource, scope, span }))),
  );
  if (lines.length === 0) return;
  mkdirSync(join(dataDir, recordedDirName), { recursive: true });
  appendFileSync(recordedPath(dataDir, spansFile), `${lines.join('\n')}\n`);
}

// The exporter's own numbers: 16- and 32-hex ids and 19-digit nanosecond times, random or clock digits that
// are Luhn-valid by chance (a span id all digits and Luhn-valid one in ~18,500, a time one in ten). No request data reaches
// them, and the rule would take a time for a 19-digit card number, so they are left out of the text scanned.
const exporterFields = new Set(['traceId', 'spanId', 'parentSpanId', 'startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano', 'observedTimeUnixNano']);

export function spanUnits(dataDir: string): ScanUnit[] {
  return readLines(dataDir, spansFile).map((line, index) => {
    const { resource, scope, span } = JSON.parse(line) as { resource: unknown; scope: unknown; span: { name?: string } };
    const text = JSON.stringify({ resource, scope, span }, (key, value) => (exporterFields.has(key) ? undefined : value));
    return { source: `span #${index + 1} ${span.name ?? '?'}`, text };
  });
}

/** Every line of every log file (`*.log`) under `dir`, at any depth, but the suite's own recordings. */
export function logFileUnits(dir: string): { files: string[]; units: ScanUnit[] } {
  const files = (readdirSync(dir, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.log') && !file.startsWith(`${recordedDirName}/`) && statSync(join(dir, file)).isFile())
    .sort();
  return { files, units: files.flatMap((file) => lineUnits(`log ${file}`, readFileSync(join(dir, file), 'latin1'))) };
}

export function lineUnits(source: string, text: string, firstLine = 1): ScanUnit[] {
  return text.split('\n').map((line, index) => ({ source: `${source}:${index + firstLine}`, text: line }));
}

/**
 * The files the PostgreSQL server at `databaseUrl` logs to: the file `npm test` names in DIRIGEN_TEST_POSTGRES_LOG
 * (the embedded server's output, which the runner keeps), else the server's collector files under `log_directory`
 * when `logging_collector` is on, else the packaged server's files under /var/log/postgresql. Read through the file system, or through the server (`pg_read_binary_file`, superuser)
 * where the file system refuses; `unreadable` says which could not be read, and why. `baseline` holds each
 * file's length as the suite started (recordPostgresLogBaseline): only what the suite's run added is scanned.
 */
export async function readPostgresLog(databaseUrl: string, baseline: Record<string, number> = {}): Promise<{ files: string[]; unreadable: string[]; units: ScanUnit[]; contents: Map<string, Buffer> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const setting = async (name: string) => (await client.query<{ value: string }>('SELECT current_setting($1) AS value', [name])).rows[0]!.value;
    const collector = (await setting('logging_collector')) === 'on';
    const logDir = await setting('log_directory');
    const dir = collector ? (isAbsolute(logDir) ? logDir : join(await setting('data_directory'), logDir)) : packagedLogDir;
    const unreadable: string[] = [];
    const contents = new Map<string, Buffer>();
    const runnerLog = process.env.DIRIGEN_TEST_POSTGRES_LOG;
    for (const path of runnerLog ? [runnerLog] : await listLogFiles(client, dir, collector, unreadable)) {
      const content = await readLogFile(client, path, unreadable);
      if (content) contents.set(path, content);
    }
    const units = [...contents].flatMap(([path, content]) => {
      const from = content.length >= (baseline[path] ?? 0) ? (baseline[path] ?? 0) : 0;
      const before = content.subarray(0, from).toString('latin1').split('\n').length;
      return lineUnits(`postgres log ${path}`, content.subarray(from).toString('latin1'), before);
    });
    return { files: [...contents.keys()], unreadable, units, contents };
  } finally {
    await client.end();
  }
}

async function listLogFiles(client: pg.Client, dir: string, collector: boolean, unreadable: string[]): Promise<string[]> {
  try {
    return readdirSync(dir).filter((file) => collector || file.endsWith('.log')).map((file) => join(dir, file));
  } catch (error) {
    if (!collector) {
      unreadable.push(`${dir} (${(error as Error).message}; the server logs to the stderr of whatever started it)`);
      return [];
    }
  }
  try {
    return (await client.query<{ name: string }>('SELECT name FROM pg_ls_logdir() ORDER BY name')).rows.map(({ name }) => join(dir, name));
  } catch (error) {
    unreadable.push(`${dir} (neither listed by this user nor by pg_ls_logdir(): ${(error as Error).message})`);
    return [];
  }
}

async function readLogFile(client: pg.Client, path: string, unreadable: string[]): Promise<Buffer | undefined> {
  try {
    return readFileSync(path);
  } catch (fileError) {
    try {
      return (await client.query<{ content: Buffer }>('SELECT pg_read_binary_file($1) AS content', [path])).rows[0]!.content;
    } catch (serverError) {
      unreadable.push(`${path} (${(fileError as Error).message}; through the server: ${(serverError as Error).message})`);
      return undefined;
    }
  }
}

/** Notes how long each PostgreSQL log file is as the e2e suite starts, so the scan reads only what came after. */
export async function recordPostgresLogBaseline(dataDir: string, databaseUrl: string): Promise<void> {
  const { contents } = await readPostgresLog(databaseUrl);
  mkdirSync(join(dataDir, recordedDirName), { recursive: true });
  writeFileSync(recordedPath(dataDir, postgresLogBaselineFile), JSON.stringify(Object.fromEntries([...contents].map(([path, content]) => [path, content.length]))));
}

export function postgresLogBaseline(dataDir: string): Record<string, number> {
  const path = recordedPath(dataDir, postgresLogBaselineFile);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, number>) : {};
}

/**
 * A full pg_dump of the database (card-data-scan.ts), when the pg_dump on PATH can dump this server. Where it
 * cannot (none installed, or older than the server: the embedded PostgreSQL's package ships no pg_dump), every
 * row of every table, read as JSON through SQL, bytea decoded as pg_dump's reader does; `vault.cards` is left
 * out as there. `how` says which was read.
 */
export async function dumpDatabaseAnyServer(databaseUrl: string): Promise<{ how: string; units: ScanUnit[] }> {
  try {
    return { how: 'pg_dump', units: await dumpDatabase(databaseUrl) };
  } catch (error) {
    if (!/server version mismatch|ENOENT/.test(String(error))) throw error;
    return { how: `every table's rows through SQL (${String(error).split('\n').find((line) => line.includes('pg_dump:')) ?? 'not found'})`, units: await tableRows(databaseUrl) };
  }
}

async function tableRows(databaseUrl: string): Promise<ScanUnit[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ schema: string; table: string }>(
      "SELECT table_schema AS schema, table_name AS table FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    );
    const units: ScanUnit[] = [];
    for (const { schema, table } of tables) {
      if (schema === 'vault' && table === 'cards') continue;
      const { rows } = await client.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)} t`);
      rows.forEach(({ row }, index) => {
        const decoded = row.replace(/\\\\x([0-9a-f]+)/g, (_, hex: string) => `\\x${Buffer.from(hex, 'hex').toString('latin1')}`);
        units.push({ source: `db ${schema}.${table} row ${index + 1}`, text: decoded });
      });
    }
    return units;
  } finally {
    await client.end();
  }
}
