export { ContractError, type ContractErrorCode } from './contract-error';
export {
  decodePaymentEvent,
  encodePaymentEvent,
  paymentEventSchemaVersion,
  priorEventsMax,
  type DecodedPaymentEvent,
  type PaymentEventRecord,
  type EnvelopeMeta,
} from './payment-event-codec';
// The generated schema, for consumers that need the raw Envelope (e.g. to inspect a dead-lettered message).
export { EnvelopeSchema, type Envelope } from './gen/dirigen/events/v1/envelope_pb';
export { grpcServiceDefinition, grpcUnaryMethod, type GrpcUnaryMethodDefinition } from './grpc-service-definition';
// The vault's internal gRPC API (proto/dirigen/vault/v1/vault.proto): served by tokenization, called through libs/vault-client.
export * as vaultV1 from './gen/dirigen/vault/v1/vault_pb';
