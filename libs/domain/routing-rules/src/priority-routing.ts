import type { PaymentRequested, RoutingDecision } from '@dirigen/payments';

/** One connector as a merchant configured it. */
export interface ConnectorRoute {
  connector: string;
  /** Lower goes first. */
  priority: number;
  enabled: boolean;
  /** ISO 4217 codes it may process; empty means any. */
  currencies: string[];
  /** Payment method types it may process. */
  methods: string[];
}

export interface MerchantRouting {
  rule: string;
  routes: ConnectorRoute[];
}

export const candidatesMax = 8;

/**
 * The priority strategy: every enabled connector that supports the payment's currency and
 * method, in priority order; every other one is listed as excluded with the reason why.
 * Scores are 1 for the first candidate, decreasing, so the order is explained by the score.
 */
export function routeByPriority(request: PaymentRequested, routing: MerchantRouting): RoutingDecision {
  const excluded: RoutingDecision['excluded'] = [];
  const eligible: ConnectorRoute[] = [];
  for (const route of [...routing.routes].sort((a, b) => a.priority - b.priority || a.connector.localeCompare(b.connector))) {
    const reason = exclusionReason(request, route);
    if (reason) excluded.push({ connector: route.connector, reason });
    else if (eligible.length >= candidatesMax) excluded.push({ connector: route.connector, reason: `beyond the first ${candidatesMax} candidates` });
    else eligible.push(route);
  }
  const candidates = eligible.map((route, index) => ({
    connector: route.connector,
    score: Number((1 - index / Math.max(eligible.length, 1)).toFixed(4)),
  }));
  return { strategy: 'priority', rule: routing.rule, candidates, excluded };
}

function exclusionReason(request: PaymentRequested, route: ConnectorRoute): string | undefined {
  if (!route.enabled) return 'disabled by the merchant';
  if (!route.methods.includes(request.paymentMethod.type)) return `does not support ${request.paymentMethod.type}`;
  if (route.currencies.length > 0 && !route.currencies.includes(request.amount.currency)) {
    return `does not support ${request.amount.currency}`;
  }
  return undefined;
}
