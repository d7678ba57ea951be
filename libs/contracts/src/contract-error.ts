/**
 * Why a message cannot cross the event contract. Every code means "retrying will not help":
 * a consumer sends the message to the dead-letter topic and moves on.
 *
 * - `malformed`: not an Envelope, a required field is missing, a value is outside its domain
 *   (unsafe amount, unknown enum value, event type not matching the payload).
 * - `unknown_event_type`: a well-formed Envelope whose payload this build does not know
 *   (a newer producer added an event type).
 * - `unsupported_schema_version`: a well-formed Envelope with a schema version this build cannot read.
 */
export type ContractErrorCode = 'malformed' | 'unknown_event_type' | 'unsupported_schema_version';

export class ContractError extends Error {
  override readonly name = 'ContractError';

  constructor(
    readonly code: ContractErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
