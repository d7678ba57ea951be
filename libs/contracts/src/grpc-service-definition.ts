import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';

/**
 * One unary method as @grpc/grpc-js describes it (`MethodDefinition`), spelled out here so this
 * library stays free of a transport import. Serialization is protobuf-es's, from the generated
 * descriptors: the same schema the .proto compiles to, with nothing to load at run time.
 */
export interface GrpcUnaryMethodDefinition<Input extends DescMessage = DescMessage, Output extends DescMessage = DescMessage> {
  path: string;
  originalName: string;
  requestStream: false;
  responseStream: false;
  requestSerialize: (value: MessageInitShape<Input>) => Buffer;
  requestDeserialize: (bytes: Buffer) => MessageShape<Input>;
  responseSerialize: (value: MessageInitShape<Output>) => Buffer;
  responseDeserialize: (bytes: Buffer) => MessageShape<Output>;
}

/** A service's methods keyed by their .proto name (`Tokenize`), as grpc-js `ServiceDefinition` and NestJS expect. */
export function grpcServiceDefinition(service: DescService): Record<string, GrpcUnaryMethodDefinition> {
  return Object.fromEntries(service.methods.map((method) => [method.name, grpcUnaryMethod(service, method.name)]));
}

/** The definition of one unary method, typed by its generated request and response schemas. */
export function grpcUnaryMethod<Input extends DescMessage, Output extends DescMessage>(service: DescService, name: string): GrpcUnaryMethodDefinition<Input, Output> {
  const method = service.methods.find((candidate) => candidate.name === name);
  if (!method) throw new Error(`invariant: ${service.typeName} has no method ${name}`);
  if (method.methodKind !== 'unary') throw new Error(`invariant: ${service.typeName}/${name} is ${method.methodKind}; only unary methods are supported`);
  const input = method.input as Input;
  const output = method.output as Output;
  return {
    path: `/${service.typeName}/${method.name}`,
    originalName: method.localName,
    requestStream: false,
    responseStream: false,
    requestSerialize: (value) => Buffer.from(toBinary(input, create(input, value))),
    requestDeserialize: (bytes) => fromBinary(input, bytes),
    responseSerialize: (value) => Buffer.from(toBinary(output, create(output, value))),
    responseDeserialize: (bytes) => fromBinary(output, bytes),
  };
}
