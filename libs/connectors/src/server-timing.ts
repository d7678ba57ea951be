// Reads one metric's duration from a Server-Timing header (W3C Server Timing): how long the server
// says it held the request, so a client can tell the network's and its own share from the server's.

/** The metric our PSP simulator reports its processing time under (`Server-Timing: psp;dur=50.2`). */
export const pspServerTimingMetric = 'psp';
/** Longest header read: a PSP sends a few dozen bytes; anything far longer is not worth parsing. */
export const serverTimingLengthMax = 4_096;

/** A non-negative decimal number of milliseconds, as `dur` carries it (`50`, `50.2`, `.5` is not one). */
const durationPattern = /^\d+(\.\d+)?$/;

/**
 * The `dur` of the first `metric` entry that carries a well-formed one, in milliseconds; undefined
 * when the header is absent, has no such entry, or every such entry's `dur` is malformed (a guess
 * would be worse than no figure). Metric names compare exactly; parameter names ignore case, and
 * the first `dur` of an entry wins, as the specification says. Several headers count as one list.
 */
export function serverTimingDurationMs(header: string | string[] | undefined, metric: string): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text.length > serverTimingLengthMax) return undefined;
  for (const entry of splitOutsideQuotes(text, ',')) {
    const [name, ...parameters] = splitOutsideQuotes(entry, ';').map((part) => part.trim());
    if (name !== metric) continue;
    const durationMs = durationOf(parameters);
    if (durationMs !== undefined) return durationMs;
  }
  return undefined;
}

function durationOf(parameters: readonly string[]): number | undefined {
  for (const parameter of parameters) {
    const equals = parameter.indexOf('=');
    const name = (equals === -1 ? parameter : parameter.slice(0, equals)).trim().toLowerCase();
    if (name !== 'dur') continue;
    if (equals === -1) return undefined;
    const value = unquote(parameter.slice(equals + 1).trim());
    if (value === undefined || !durationPattern.test(value)) return undefined;
    const durationMs = Number(value);
    return Number.isFinite(durationMs) ? durationMs : undefined;
  }
  return undefined;
}

/** A token as it is; a quoted-string without its quotes and escapes; undefined for an unterminated quote. */
function unquote(value: string): string | undefined {
  if (!value.startsWith('"')) return value;
  if (value.length < 2 || !value.endsWith('"')) return undefined;
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}

/** Splits on `separator` except inside a quoted-string (a `desc="a, b"` holds commas and semicolons). */
function splitOutsideQuotes(text: string, separator: ',' | ';'): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (quoted && character === '\\') index++;
    else if (character === '"') quoted = !quoted;
    else if (!quoted && character === separator) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
