// The services the platform runs, each as its own process (services never import each other).
// `replicated`: runs DIRIGEN_REPLICAS copies; `replicasMin`: never fewer (a kill of one must cost nothing).
// Replica i (from 0) listens on `basePort + i × replicaPortStride` (stride 1 unless given). The vault's
// HTTP and gRPC ports sit side by side (8082, 8083), so its replicas step by 1000: 8082/8083, 9082/9083, …
// `database`: the PostgreSQL role the service (and its migrations) connects as, and the schema that
// role owns; no role can read another's schema, and only `dirigen_vault` can read the vault.
export const serviceDefinitions = [
  { name: 'psp-simulator', entry: 'services/psp-simulator/src/main.js', basePort: 8090, replicated: false, migrates: false },
  { name: 'tokenization', entry: 'services/tokenization/src/main.js', basePort: 8082, grpcBasePort: 8083, replicated: true, replicasMin: 2, replicaPortStride: 1_000, migrates: true, database: { role: 'dirigen_vault', schema: 'vault' } },
  { name: 'intake', entry: 'services/intake/src/main.js', basePort: 8180, replicated: true, migrates: true, seedsApiKey: true, database: { role: 'dirigen_intake', schema: 'intake' } },
  { name: 'fraud', entry: 'services/fraud/src/main.js', basePort: 8280, replicated: true, migrates: true, database: { role: 'dirigen_fraud', schema: 'fraud' } },
  { name: 'routing', entry: 'services/routing/src/main.js', basePort: 8380, replicated: true, migrates: true, database: { role: 'dirigen_routing', schema: 'routing' } },
  { name: 'gateway', entry: 'services/gateway/src/main.js', basePort: 8480, replicated: true, migrates: true, database: { role: 'dirigen_gateway', schema: 'gateway' } },
];

/** The services with a database of their own. */
export const databaseServices = serviceDefinitions.filter((definition) => definition.database);

/** Where a bootstrap job outside the launcher (docker-compose, Kubernetes) reads a service role's password. */
export function databasePasswordVariable(serviceName) {
  return `${serviceName.toUpperCase().replace(/-/g, '_')}_DATABASE_PASSWORD`;
}
