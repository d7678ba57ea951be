/**
 * Card numbers published by PSPs for testing (Stripe, Adyen): never a real cardholder's. A scan for
 * card data must find every one of them, in every way people write a card number.
 */
export const testCardNumbers = {
  'Visa 4242': '4242424242424242',
  'Mastercard 4444': '5555555555554444',
  'Visa, declined': '4000000000000002',
  'Visa, insufficient funds': '4000000000009995',
  'Visa, processing error': '4000000000000119',
  'Visa, 3-D Secure': '4000000000003220',
  'American Express': '378282246310005',
  'Mastercard 2-series': '2223003122003222',
  Discover: '6011111111111117',
  'Discover 9424': '6011000990139424',
  JCB: '3566002020360505',
  'JCB 3530': '3530111333300000',
  'Diners Club, 16 digits': '3056930009020004',
  'Diners Club, 14 digits': '36227206271667',
  UnionPay: '6200000000000005',
  'UnionPay, 19 digits': '6205500000000000004',
  Maestro: '6759649826438453',
  'Maestro 0008': '6771798021000008',
  'Maestro, 19 digits': '6799990100000000019',
} as const;

/** Groups of `sizes` digits joined by `separator`, the rest in a last group. */
function grouped(digits: string, sizes: number[], separator: string): string {
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

/** How the brand prints it: Amex and 14-digit Diners 4-6-5/4-6-4, the rest in fours. */
function brandGroups(card: string): number[] {
  return /^3[47]/.test(card) || card.length === 14 ? [4, 6] : [4, 4, 4, 4];
}

/** The ways a card number is written into free text: each contains the card once. */
export function writtenForms(card: string): { shape: string; text: string }[] {
  const inFours = grouped(card, [4, 4, 4, 4], ' ');
  return [
    { shape: 'bare', text: card },
    { shape: 'in fours with spaces', text: inFours },
    { shape: 'in fours with dashes', text: grouped(card, [4, 4, 4, 4], '-') },
    { shape: 'grouped as the brand prints it', text: grouped(card, brandGroups(card), ' ') },
    { shape: 'in a sentence', text: `Hi, please charge my card ${inFours} for order 1042, thanks!` },
    { shape: 'followed by expiry and CVC', text: `${inFours} 12 30 123` },
    { shape: 'followed by expiry and CVC, unbroken', text: `${card} 12/30 123` },
  ];
}
