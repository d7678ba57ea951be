import type { AttemptStatus, CaptureMethod, FailureKind, Money } from '@dirigen/payments';

/** Raw card data on its way from the vault to a PSP. Lives only in memory for one call; never logged. */
export interface CardData {
  number: string;
  expMonth: number;
  expYear: number;
  cvc?: string;
}

export interface AuthorizeRequest {
  /** One PSP call. Also the PSP idempotency key, so a repeated call can never charge twice. */
  attemptId: string;
  paymentId: string;
  merchantId: string;
  amount: Money;
  captureMethod: CaptureMethod;
  card: CardData;
  description?: string;
  metadata: Record<string, string>;
}

/** What the customer must do before the PSP can decide (3-D Secure, a redirect to the issuer). */
export interface NextAction {
  type: 'redirect_to_url';
  url: string;
}

/**
 * The outcome of one PSP call in our terms. A decline is a result, not an exception: the PSP
 * answered definitively. `unknown` means the charge may or may not have happened, so the
 * orchestrator must inquire (`retrieve`, or replay the same `attemptId`) before trying elsewhere.
 */
export interface AttemptResult {
  status: AttemptStatus;
  pspReference?: string;
  failureCode?: string;
  failureMessage?: string;
  failureKind?: FailureKind;
  nextAction?: NextAction;
  /** The whole call as the connector measured it: the PSP's processing, the network, and our client. */
  pspLatencyMs: number;
  /** The PSP's own processing time, when it reports one (the simulator does, in Server-Timing). */
  pspProcessingMs?: number;
}

export interface ConnectorCapabilities {
  methods: string[];
  /** ISO 4217 codes, upper case. Empty means any currency. */
  currencies: string[];
  manualCapture: boolean;
}

/** The port every PSP connector implements. Implementations hold no per-payment state. */
export interface PaymentConnector {
  readonly name: string;
  readonly capabilities: ConnectorCapabilities;
  authorize(request: AuthorizeRequest): Promise<AttemptResult>;
  retrieve(pspReference: string): Promise<AttemptResult>;
  /**
   * Status inquiry by our own reference: the outcome of the attempt `attemptId` if the PSP has it,
   * undefined when it never saw it (so no charge happened). For when the attempt cannot simply be
   * repeated, e.g. its card security code is gone.
   */
  findAttempt(attemptId: string): Promise<AttemptResult | undefined>;
}

/** Routing and failover decide on these codes, never on message strings. */
export type ConnectorErrorCode =
  | 'retryable'
  | 'declined_hard'
  | 'declined_soft'
  | 'authentication'
  | 'invalid_request'
  | 'unknown_outcome'
  | 'unsupported';

export const connectorErrorCodes: readonly ConnectorErrorCode[] = [
  'retryable',
  'declined_hard',
  'declined_soft',
  'authentication',
  'invalid_request',
  'unknown_outcome',
  'unsupported',
];

/**
 * The one error a connector throws, for what is not an attempt outcome: our credentials are
 * refused, our own request is malformed, or the flow is not supported. Messages name the
 * connector and the operation, never card data or request bodies.
 */
export class ConnectorError extends Error {
  constructor(
    readonly code: ConnectorErrorCode,
    readonly connector: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConnectorError';
  }
}

export function isConnectorError(error: unknown): error is ConnectorError {
  return error instanceof ConnectorError;
}
