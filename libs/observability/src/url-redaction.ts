/**
 * Span attributes that carry a request's URL. A merchant can put anything in a URL (an id, a query
 * string), a card number included: traces leave the card data environment, so these are masked.
 */
export const urlAttributeNames = ['url.full', 'url.path', 'url.query', 'http.url', 'http.target'] as const;

/** 12 or more digits, possibly grouped by single spaces or dashes as people type card numbers. */
const digitRun = /\d(?:[ -]?\d){11,}/g;

/**
 * `text` with every long digit run masked but for its last four digits (separators kept), so no
 * card number survives while ids stay recognizable. Percent-encoded text is decoded first, so
 * `4242%204242…` is found too; undecodable text is masked as it is.
 */
export function maskDigitRuns(text: string): string {
  let decoded = text;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    // a malformed escape: mask the raw text
  }
  if (!/\d{4}/.test(decoded)) return text;
  return decoded.replace(digitRun, (run) => {
    let digitsLeft = run.replace(/\D/g, '').length;
    return run.replace(/\d/g, (digit) => (digitsLeft-- > 4 ? '*' : digit));
  });
}
