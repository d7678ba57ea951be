/**
 * A corpus of identifiers that merchants put in free text (metadata, descriptions, keys) and that
 * services write to logs, topics and tables: the things a card-number scan must leave alone.
 * Used to measure the product's free-text guard and the e2e suite's card-data oracle.
 *
 * Deterministic: a seeded PRNG and a fixed range of years, never the clock, so a rate measured
 * today is the rate measured on any other day. Realistic, not tuned: each generator follows the
 * published shape of its identifier (epochs, lengths, prefixes), whatever that does to a scanner.
 */

/** Timestamps are drawn from these years (UTC): the past a merchant's data reaches back to, the future it plans for. */
export const corpusYearsFrom = 2015;
export const corpusYearsTo = 2040;
export const corpusSeedDefault = 0x7d1e_2026;
export const corpusPerCategoryDefault = 7_000;

export interface IdentifierCategory {
  name: string;
  values: string[];
  /**
   * Why some identifiers of this category have the digits of a card number (an issuer prefix and a
   * card's length) and so cannot be told from one by their digits; absent when none do. A property
   * of the identifiers, not of any scanner: a scan that passes Luhn refuses about 1 in 10 of those.
   */
  cardShaped?: string;
}

/**
 * The categories whose identifiers can have a card number's digits. Every other category is told
 * apart by its shape (prefix, length, letters, separators), and a good scan refuses none of it.
 */
const cardShapedCategories: Record<string, string> = {
  'epoch microseconds': 'from September to November 2039 they start 2200–2204, the Mir prefix, with 16 digits',
  'epoch nanoseconds': 'from September to November 2039 they start 2200–2204, the Mir prefix, with 19 digits',
  'key <ms>-<n> or <prefix>-<µs>': 'the microsecond form shares the Mir window of autumn 2039',
  'order number, date-prefixed': 'the yymmdd… form of years 22–27 and 30–39 starts like a Mastercard, Amex, Diners or JCB number',
  'Shopify-style 13-digit id': 'ids that start 50 or 56–69 have a Maestro prefix, and Maestro issues 12 to 19 digits',
  'phone Indonesian 08xx / 628xx': '628… written without its + is a Maestro or UnionPay prefix with 12 to 14 digits',
  'snowflake (Twitter epoch)': '18–19 digits whose leading digits sweep 5–9, then 1–3 as the years pass: Maestro, UnionPay, Mir, JCB, Diners prefixes',
  'snowflake (Discord epoch)': '17–19 digits whose leading digits sweep 1–9, then 1–3 as the years pass: Visa, Maestro, UnionPay, Mir, JCB, Diners prefixes',
};

/** mulberry32: a small, well-known 32-bit PRNG; plenty for test data, and the same sequence on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

class Draw {
  constructor(readonly random: () => number) {}

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  /** A bigint in [min, max), for values past 2^53. */
  big(min: bigint, max: bigint): bigint {
    const span = max - min;
    const high = BigInt(Math.floor(this.random() * 2 ** 32));
    const low = BigInt(Math.floor(this.random() * 2 ** 32));
    return min + (((high << 32n) | low) % span);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  digits(count: number): string {
    let text = '';
    for (let index = 0; index < count; index++) text += String(Math.floor(this.random() * 10));
    return text;
  }

  hex(count: number): string {
    let text = '';
    for (let index = 0; index < count; index++) text += Math.floor(this.random() * 16).toString(16);
    return text;
  }

  /** Epoch milliseconds, uniform over the corpus years. */
  epochMs(): number {
    return this.int(Date.UTC(corpusYearsFrom, 0, 1), Date.UTC(corpusYearsTo, 0, 1) - 1);
  }
}

const keyPrefixes = ['order', 'pay', 'payment', 'checkout', 'retry', 'req', 'idem', 'cart', 'sub', 'renewal', 'inv', 'refund', 'txn', 'ord', 'shop1', 'mobile-ios', 'web'];
const keySeparators = ['-', '-', '-', '_', ':', '.', '/'];

/** Epoch timestamps, bare and inside keys. */
const timestampCategories: Record<string, (draw: Draw) => string> = {
  'epoch seconds': (draw) => String(Math.floor(draw.epochMs() / 1000)),
  'epoch milliseconds': (draw) => String(draw.epochMs()),
  'epoch microseconds': (draw) => String(BigInt(draw.epochMs()) * 1000n + BigInt(draw.int(0, 999))),
  'epoch nanoseconds': (draw) => String(BigInt(draw.epochMs()) * 1_000_000n + BigInt(draw.int(0, 999_999))),
  'key <prefix>-<ms>-<n>': (draw) => {
    const separator = draw.pick(keySeparators);
    const counter = draw.pick([String(draw.int(0, 9)), String(draw.int(0, 999)), String(draw.int(0, 99_999))]);
    return `${draw.pick(keyPrefixes)}${separator}${draw.epochMs()}${separator}${counter}`;
  },
  'key <ms>-<n> or <prefix>-<µs>': (draw) =>
    draw.pick([
      () => `${draw.epochMs()}-${draw.int(0, 9999)}`,
      () => `${draw.pick(keyPrefixes)}-${BigInt(draw.epochMs()) * 1000n + BigInt(draw.int(0, 999))}`,
      () => `${draw.pick(keyPrefixes)}-${draw.epochMs()}`,
      () => `${draw.epochMs()}`,
    ])(),
  'migration name <Name><ms>': (draw) => `${draw.pick(['IntakeInitial', 'VaultCardUse', 'AddIndexes', 'Payments', 'TokenIdempotencyKeys', 'Refunds'])}${draw.epochMs()}`,
};

function yyyymmdd(draw: Draw): string {
  return new Date(draw.epochMs()).toISOString().slice(0, 10).replace(/-/g, '');
}

function yyyymmddhhmmss(draw: Draw): string {
  return new Date(draw.epochMs()).toISOString().slice(0, 19).replace(/[-T:]/g, '');
}

/** Order and invoice numbers in the shapes shops, ERPs and marketplaces use. */
const orderCategories: Record<string, (draw: Draw) => string> = {
  'order number, prefixed': (draw) =>
    draw.pick([
      () => `ORD-${draw.digits(draw.int(6, 10))}`,
      () => `INV-${draw.int(corpusYearsFrom, corpusYearsTo)}-${draw.digits(6)}`,
      () => `#${draw.int(1000, 9_999_999)}`,
      () => `SO${draw.digits(9)}`,
      () => `PO-${draw.int(corpusYearsFrom, corpusYearsTo)}${draw.digits(6)}`,
      () => `order_${draw.int(1, 99_999_999)}`,
      () => `R${draw.digits(9)}`,
      () => `INV/${draw.int(corpusYearsFrom, corpusYearsTo)}/${String(draw.int(1, 12)).padStart(2, '0')}/${draw.digits(5)}`,
    ])(),
  'order number, date-prefixed': (draw) =>
    draw.pick([
      () => `${yyyymmdd(draw)}-${draw.digits(draw.int(4, 6))}`,
      () => `${yyyymmdd(draw)}${draw.digits(draw.int(4, 8))}`,
      () => `${yyyymmddhhmmss(draw)}${draw.digits(draw.int(2, 5))}`,
      () => `${yyyymmdd(draw).slice(0, 4)}-${yyyymmdd(draw).slice(4, 6)}-${yyyymmdd(draw).slice(6)}-${draw.digits(6)}`,
      () => `${yyyymmdd(draw).slice(2)}${draw.digits(draw.int(6, 10))}`,
    ])(),
  'order number, sequential': (draw) =>
    draw.pick([
      () => String(draw.int(1, 99_999_999)),
      () => String(draw.int(1, 9_999_999_999)),
      () => String(draw.int(1, 99_999_999)).padStart(draw.int(10, 16), '0'),
    ])(),
  // Shopify's REST ids: 13 digits, growing from about 3·10^12 (2020) to 7·10^12 (2026); also as a GraphQL gid.
  'Shopify-style 13-digit id': (draw) => {
    const id = String(draw.int(3_000_000_000_000, 7_000_000_000_000));
    return draw.pick([id, id, `gid://shopify/Order/${id}`, `shopify-${id}`]);
  },
  'marketplace order (Amazon, eBay)': (draw) =>
    draw.pick([
      () => `${draw.pick(['111', '112', '113', '114', '171', '702'])}-${draw.digits(7)}-${draw.digits(7)}`,
      () => `${draw.digits(2)}-${draw.digits(5)}-${draw.digits(5)}`,
    ])(),
};

const mobileOperatorPrefixes = ['811', '812', '813', '821', '822', '823', '852', '853', '814', '815', '816', '855', '856', '857', '858', '817', '818', '819', '859', '877', '878', '895', '896', '897', '898', '899', '881', '882', '883', '887', '888'];

function group(digits: string, sizes: number[], separator: string): string {
  const parts: string[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= digits.length) break;
    parts.push(digits.slice(at, at + size));
    at += size;
  }
  if (at < digits.length) parts.push(digits.slice(at));
  return parts.join(separator);
}

/** Phone numbers: international, national, Indonesian (the country whose numbers the old rule refused most), US. */
const phoneCategories: Record<string, (draw: Draw) => string> = {
  'phone E.164': (draw) => {
    const [country, nationalDigits] = draw.pick([['1', 10], ['44', 10], ['49', 11], ['33', 9], ['62', 11], ['91', 10], ['55', 11], ['61', 9], ['81', 10], ['86', 11], ['7', 10], ['234', 10], ['52', 10]] as const);
    const national = `${draw.int(2, 9)}${draw.digits(nationalDigits - 1)}`;
    return draw.pick([`+${country}${national}`, `+${country} ${group(national, [3, 3, 4], ' ')}`, `+${country}-${group(national, [3, 3, 4], '-')}`]);
  },
  'phone national, leading 0': (draw) => {
    const national = `0${draw.int(1, 9)}${draw.digits(draw.int(8, 9))}`;
    return draw.pick([national, group(national, [4, 3, 4], ' '), group(national, [3, 4, 4], '-'), `(${national.slice(0, 3)}) ${national.slice(3)}`]);
  },
  'phone Indonesian 08xx / 628xx': (draw) => {
    const subscriber = `${draw.pick(mobileOperatorPrefixes)}${draw.digits(draw.int(6, 9))}`;
    return draw.pick([
      `0${subscriber}`,
      group(`0${subscriber}`, [4, 4, 4], '-'),
      group(`0${subscriber}`, [4, 4, 4], ' '),
      `62${subscriber}`,
      `+62${subscriber}`,
      `+62 ${group(subscriber, [3, 4, 4], '-')}`,
      `https://wa.me/62${subscriber}`,
    ]);
  },
  'phone US': (draw) => {
    const area = `${draw.int(2, 9)}${draw.digits(2)}`;
    const exchange = `${draw.int(2, 9)}${draw.digits(2)}`;
    const line = draw.digits(4);
    return draw.pick([`(${area}) ${exchange}-${line}`, `${area}-${exchange}-${line}`, `+1 ${area} ${exchange} ${line}`, `1${area}${exchange}${line}`, `1-${area}-${exchange}-${line}`, `${area}.${exchange}.${line}`]);
  },
};

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function uuidFromHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const twitterEpochMs = 1_288_834_974_657n;
const discordEpochMs = 1_420_070_400_000n;

function snowflake(draw: Draw, epochMs: bigint): string {
  const sinceEpoch = BigInt(draw.epochMs()) - epochMs;
  return String((sinceEpoch << 22n) | (BigInt(draw.int(0, 1023)) << 12n) | BigInt(draw.int(0, 4095)));
}

/** Generated ids: UUIDs, ULIDs, snowflakes, the ids Kafka, PostgreSQL and tracing print. */
const generatedIdCategories: Record<string, (draw: Draw) => string> = {
  'UUID v4': (draw) => {
    const hex = draw.hex(32).split('');
    hex[12] = '4';
    hex[16] = draw.pick(['8', '9', 'a', 'b']);
    return uuidFromHex(hex.join(''));
  },
  'UUID v7': (draw) => {
    const hex = `${draw.epochMs().toString(16).padStart(12, '0')}7${draw.hex(3)}${draw.pick(['8', '9', 'a', 'b'])}${draw.hex(15)}`;
    return uuidFromHex(hex);
  },
  ULID: (draw) => {
    let time = draw.epochMs();
    let encoded = '';
    for (let index = 0; index < 10; index++) {
      encoded = crockford[time % 32]! + encoded;
      time = Math.floor(time / 32);
    }
    for (let index = 0; index < 16; index++) encoded += crockford[draw.int(0, 31)]!;
    return encoded;
  },
  'snowflake (Twitter epoch)': (draw) => snowflake(draw, twitterEpochMs),
  'snowflake (Discord epoch)': (draw) => snowflake(draw, discordEpochMs),
  'Kafka and PostgreSQL ids': (draw) =>
    draw.pick([
      () => `dirigen.payment-events.v1/${draw.int(0, 11)}@${draw.int(0, 10_000_000_000)}`,
      () => `consumer-${draw.pick(['fraud', 'routing', 'gateway'])}-${draw.int(1, 3)}-${draw.pick(['', `${draw.hex(8)}-${draw.hex(4)}-4${draw.hex(3)}-a${draw.hex(3)}-${draw.hex(12)}`])}`,
      // bigserial and bigint keys as tables reach them, a sequence's next value.
      () => String(draw.int(1, 2 ** 31)),
      () => `${draw.hex(draw.int(1, 2)).toUpperCase()}/${draw.hex(draw.int(6, 8)).toUpperCase()}`,
      () => `pg_toast_${draw.int(16_384, 4_000_000)}`,
      () => `xid ${draw.int(1, 4_294_967_295)}`,
      () => `${new Date(draw.epochMs()).toISOString().replace('T', ' ').replace('Z', '')}${draw.digits(3)}+00`,
    ])(),
  'trace and span ids': (draw) =>
    draw.pick([
      () => `00-${draw.hex(32)}-${draw.hex(16)}-01`,
      () => draw.hex(16),
      () => draw.hex(32),
      () => draw.hex(64),
    ])(),
};

const categories: Record<string, (draw: Draw) => string> = { ...timestampCategories, ...orderCategories, ...phoneCategories, ...generatedIdCategories };

/** Every category, `perCategory` identifiers each, the same on every run for the same seed. */
export function identifierCorpus(seed = corpusSeedDefault, perCategory = corpusPerCategoryDefault): IdentifierCategory[] {
  const draw = new Draw(seededRandom(seed));
  return Object.entries(categories).map(([name, generate]) => ({
    name,
    values: Array.from({ length: perCategory }, () => generate(draw)),
    ...(cardShapedCategories[name] ? { cardShaped: cardShapedCategories[name] } : {}),
  }));
}

export interface FalsePositiveRate {
  category: string;
  scanned: number;
  flagged: number;
  /** Up to 3 flagged identifiers, to show in a report: they are test data, never card data. */
  examples: string[];
  cardShaped?: string;
}

const examplesMax = 3;

/** How many identifiers of each category `isCardNumber` takes for a card number. */
export function measureFalsePositives(corpus: IdentifierCategory[], isCardNumber: (text: string) => boolean): FalsePositiveRate[] {
  return corpus.map(({ name, values, cardShaped }) => {
    const flagged = values.filter((value) => isCardNumber(value));
    return { category: name, scanned: values.length, flagged: flagged.length, examples: flagged.slice(0, examplesMax), ...(cardShaped ? { cardShaped } : {}) };
  });
}

/** The rates as a table for the test output, with totals over the whole corpus and over the categories told apart by shape. */
export function falsePositiveTable(title: string, rates: FalsePositiveRate[]): string {
  const rows = rates.map((rate) => `${rate.category.padEnd(34)} ${String(rate.flagged).padStart(6)} / ${String(rate.scanned).padEnd(7)} ${perTenThousand(rate.flagged, rate.scanned).padStart(8)}  ${rate.cardShaped ? 'card-shaped ' : ''}${rate.examples.join(' | ')}`);
  const total = (selected: FalsePositiveRate[]) => {
    const flagged = selected.reduce((sum, rate) => sum + rate.flagged, 0);
    const scanned = selected.reduce((sum, rate) => sum + rate.scanned, 0);
    return `${String(flagged).padStart(6)} / ${String(scanned).padEnd(7)} ${perTenThousand(flagged, scanned).padStart(8)}`;
  };
  return [
    `${title}: false positives per category (per 10,000)`,
    ...rows,
    `${'all categories'.padEnd(34)} ${total(rates)}`,
    `${'told apart by shape'.padEnd(34)} ${total(rates.filter((rate) => !rate.cardShaped))}`,
  ].join('\n');
}

function perTenThousand(flagged: number, scanned: number): string {
  return ((flagged / scanned) * 10_000).toFixed(2);
}
