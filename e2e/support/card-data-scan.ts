import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';

/** One piece of stored or transmitted text and where it was found (topic/partition@offset, file:line, table, request). */
export interface ScanUnit {
  source: string;
  text: string;
}

export interface Finding {
  source: string;
  what: string;
  /** About 20 characters either side, digits of the match masked but the last 4. */
  context: string;
}

const panLengthMax = 19;
const contextChars = 20;
const hexIdentifierLengthMin = 16;
/** E.164: a phone number has at most 15 digits, country code included. */
const phoneNumberDigitsMax = 15;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/**
 * Where card numbers are issued, written by hand and on purpose coarser than any brand table, so
 * that this oracle does not share the product's blind spots (the free-text guard reads the
 * `credit-card-type` table; a range that table lacks or a length it gets wrong would otherwise be
 * missed by both). By the major industry identifier, the first digit (ISO/IEC 7812-1): 1 airlines
 * (UATP, 15 digits), 2 the 2-series (Mastercard 2221–2720, Mir 2200–2204: 16 to 19 digits),
 * 3 travel and entertainment (Amex, Diners, JCB), 4 and 5 banking, 6 merchandising and banking
 * (Discover, UnionPay, Maestro, RuPay): every length from 13 to 19. Besides: JCB's old 2131 range
 * (15 digits), UnionPay's 81 range and Troy's 9792 range. Lengths are a range, not a brand's list.
 */
const issuerRanges: { prefix: RegExp; lengthMin: number; lengthMax: number }[] = [
  { prefix: /^1/, lengthMin: 15, lengthMax: 15 },
  { prefix: /^2131/, lengthMin: 15, lengthMax: 15 },
  { prefix: /^2[2-7]/, lengthMin: 16, lengthMax: 19 },
  { prefix: /^[3-6]/, lengthMin: 13, lengthMax: 19 },
  { prefix: /^81/, lengthMin: 14, lengthMax: 19 },
  { prefix: /^9792/, lengthMin: 16, lengthMax: 19 },
];

/** A run of digits that could be a card number: Luhn-valid, in an issuer range, of a length issued there. */
export function couldBeCardNumber(digits: string): boolean {
  return issuerRanges.some(({ prefix, lengthMin, lengthMax }) => prefix.test(digits) && digits.length >= lengthMin && digits.length <= lengthMax) && luhnValid(digits);
}

/**
 * Looks for the card numbers a test sent, in the shapes they leak in (typed with spaces or dashes,
 * ASCII hex as a bytea or a logged Buffer prints it, base64 at any byte alignment, a JSON-serialized
 * Buffer's byte list), and for any other unbroken run of digits that could be a card number
 * (`couldBeCardNumber`). No rule here reads the clock: what is found does not depend on the day.
 */
export class CardDataScanner {
  readonly findings: Finding[] = [];
  readonly excused = { insideHexIdentifier: 0, spanId: 0, phoneNumber: 0 };
  private readonly needles: { pattern: RegExp; what: string }[];

  constructor(cardsSent: readonly string[]) {
    this.needles = cardsSent.flatMap((card) => shapesOf(card).map(({ pattern, shape }) => ({ pattern, what: `test card …${card.slice(-4)}${shape}` })));
  }

  scan({ source, text }: ScanUnit): void {
    const reportedAt = new Set<number>();
    for (const { pattern, what } of this.needles) {
      for (const match of text.matchAll(pattern)) {
        reportedAt.add(match.index);
        this.report(source, what, text, match.index, match[0].length);
      }
    }
    for (const match of text.matchAll(/\d{13,}/g)) {
      const run = match[0];
      // A longer run is not shaped like a card number; a test card inside one is still found above.
      if (run.length > panLengthMax || reportedAt.has(match.index) || !couldBeCardNumber(run) || this.excuses(text, match.index, run)) continue;
      this.report(source, `a possible card number, ${run.length} digits …${run.slice(-4)}`, text, match.index, run.length);
    }
  }

  /**
   * Three kinds of digits are excused, each by its structure and nothing else. A digit run inside a
   * hexadecimal identifier (trace and span ids, HMAC digests: 16+ hex characters with at least one
   * letter a–f), whose random digits form a 13+ run in a few per thousand. A W3C span id (16 random
   * hex characters) that came out all digits — one in ~1,850 — where its structure says it is one:
   * in a `traceparent` (`<32 hex>-<span id>-<2 hex>`) or as a log's `span_id`. A phone number in
   * international notation: at most 15 digits right after a `+`.
   */
  private excuses(text: string, index: number, run: string): boolean {
    if (isSpanId(text, index, run)) {
      this.excused.spanId++;
      return true;
    }
    if (text[index - 1] === '+' && run.length <= phoneNumberDigitsMax) {
      this.excused.phoneNumber++;
      return true;
    }
    let start = index;
    let end = index + run.length;
    while (start > 0 && isHex(text[start - 1]!)) start--;
    while (end < text.length && isHex(text[end]!)) end++;
    if (end - start >= hexIdentifierLengthMin && /[a-f]/i.test(text.slice(start, end))) {
      this.excused.insideHexIdentifier++;
      return true;
    }
    return false;
  }

  private report(source: string, what: string, text: string, index: number, length: number): void {
    const before = printable(text.slice(Math.max(0, index - contextChars), index));
    const after = printable(text.slice(index + length, index + length + contextChars));
    this.findings.push({ source, what, context: `${before}‹${what}›${after}` });
  }
}

const spanIdHexLength = 16;

function isSpanId(text: string, index: number, run: string): boolean {
  if (run.length !== spanIdHexLength) return false;
  const before = text.slice(Math.max(0, index - 40), index);
  const after = text.slice(index + run.length, index + run.length + 3);
  const inTraceparent = /[0-9a-f]{32}-$/i.test(before) && /^-[0-9a-f]{2}/i.test(after);
  const asLoggedSpanId = /"(?:parent_)?span_id":"$/.test(before) && after.startsWith('"');
  return inTraceparent || asLoggedSpanId;
}

export function describeFinding(finding: Finding): string {
  return `${finding.source}: ${finding.what} in "${finding.context}"`;
}

function shapesOf(card: string): { pattern: RegExp; shape: string }[] {
  const bytes = [...Buffer.from(card, 'latin1')];
  const hex = bytes.map((byte) => byte.toString(16).padStart(2, '0'));
  return [
    { pattern: new RegExp(card.split('').join('[ -]*'), 'g'), shape: '' },
    { pattern: new RegExp(hex.join(' ?'), 'gi'), shape: ' as ASCII hex' },
    ...base64Alignments(card).map((encoded) => ({ pattern: new RegExp(escapeRegExp(encoded), 'g'), shape: ' as base64' })),
    { pattern: new RegExp(bytes.join(', ?'), 'g'), shape: ' as a byte list' },
  ];
}

/** The base64 characters that depend only on the card, whichever of the 3 byte offsets it starts at. */
function base64Alignments(card: string): string[] {
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), Buffer.from(card, 'latin1')]).toString('base64');
    const firstWholeGroup = offset === 0 ? 0 : 1;
    const wholeGroups = Math.floor((offset + card.length) / 3);
    return encoded.slice(firstWholeGroup * 4, wholeGroups * 4);
  });
}

function isHex(character: string): boolean {
  return /[0-9a-f]/i.test(character);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Context is printed in a test report: no control bytes, and no long digit runs that could be part of a card number. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '.').replace(/\d{6,}/g, (digits) => '#'.repeat(digits.length));
}

const kafkaReadTimeoutMs = 30_000;

/**
 * Every message of every topic on the broker, internal ones included, from the earliest offset to
 * the end as it was when called: key, value (as latin1, so binary protobuf keeps its text) and headers.
 */
export async function readEveryKafkaMessage(brokers: string[]): Promise<{ topics: string[]; units: ScanUnit[]; keys: Set<string> }> {
  const kafka = new Kafka({ clientId: 'e2e-card-data-scan', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `e2e-card-data-scan-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, maxWaitTimeInMs: 100, maxBytesPerPartition: 1_048_576, allowAutoTopicCreation: false });
  try {
    const topics = await admin.listTopics();
    const lastOffsets = new Map<string, bigint>();
    for (const topic of topics) {
      for (const { partition, low, high } of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(high) > BigInt(low)) lastOffsets.set(`${topic}/${partition}`, BigInt(high) - 1n);
      }
    }
    const units: ScanUnit[] = [];
    const keys = new Set<string>();
    const unread = new Set(lastOffsets.keys());
    let allRead!: () => void;
    const finished = new Promise<void>((resolve) => (allRead = resolve));
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set([...lastOffsets.keys()].map((entry) => entry.slice(0, entry.lastIndexOf('/'))))], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const partitionKey = `${batch.topic}/${batch.partition}`;
        const last = lastOffsets.get(partitionKey) ?? -1n;
        for (const message of batch.messages) {
          if (BigInt(message.offset) > last) break;
          const at = `kafka ${partitionKey}@${message.offset}`;
          if (message.key) {
            keys.add(message.key.toString('latin1'));
            units.push({ source: `${at} key`, text: message.key.toString('latin1') });
          }
          if (message.value) units.push({ source: `${at} value`, text: message.value.toString('latin1') });
          units.push(...headerUnits(at, message.headers ?? {}));
          if (BigInt(message.offset) === last) unread.delete(partitionKey);
        }
        if (unread.size === 0) allRead();
      },
    });
    if (unread.size === 0) allRead();
    const timedOut = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), kafkaReadTimeoutMs).unref());
    if ((await Promise.race([finished, timedOut])) === 'timeout') {
      throw new Error(`could not read to the end of ${[...unread].join(', ')} within ${kafkaReadTimeoutMs} ms`);
    }
    return { topics, units, keys };
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

function headerUnits(at: string, headers: IHeaders): ScanUnit[] {
  return Object.entries(headers).flatMap(([name, value]) =>
    [value ?? []].flat().map((part) => ({ source: `${at} header ${name}`, text: Buffer.isBuffer(part) ? part.toString('latin1') : String(part) })),
  );
}

/** Every line of every service log the platform wrote. */
export function readServiceLogs(logsDir: string): { files: string[]; units: ScanUnit[] } {
  const files = readdirSync(logsDir).sort();
  const units = files.flatMap((file) =>
    readFileSync(join(logsDir, file), 'latin1')
      .split('\n')
      .map((text, index) => ({ source: `log ${file}:${index + 1}`, text })),
  );
  return { files, units };
}

/**
 * A full pg_dump of the database, all of `vault.cards` left out, each line named by the table whose
 * COPY it belongs to. bytea values (`\\x…`) are decoded, so what they hold (protobuf outbox payloads,
 * digests) is scanned as stored rather than as hex.
 */
export async function dumpDatabase(databaseUrl: string): Promise<ScanUnit[]> {
  const { stdout } = await promisify(execFile)('pg_dump', ['--dbname', databaseUrl, '--exclude-table-data=vault.cards', '--no-owner'], {
    maxBuffer: 512 * 1024 * 1024,
    encoding: 'latin1',
  });
  let table = 'schema';
  return stdout.split('\n').map((line, index) => {
    table = line.startsWith('COPY ') ? line.split(' ')[1]! : line === '\\.' ? 'schema' : table;
    const decoded = line.replace(/\\\\x([0-9a-f]+)/g, (_, hex: string) => `\\x${Buffer.from(hex, 'hex').toString('latin1')}`);
    return { source: `db ${table} (dump line ${index + 1})`, text: decoded };
  });
}
