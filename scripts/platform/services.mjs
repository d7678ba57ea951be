// The services the platform runs, each as its own process (services never import each other).
// `replicated`: runs DIRIGEN_REPLICAS copies; `replicasMin`: never fewer (a kill of one must cost nothing).
// Replica i (from 0) listens on `basePort + i × replicaPortStride` (stride 1 unless given). The vault's
// HTTP and gRPC ports sit side by side (8082, 8083), so its replicas step by 1000: 8082/8083, 9082/9083, …
// `database`: the schema the service owns and the suffix of the PostgreSQL role it (and its migrations)
// connects as (`databaseRole`); no role can read another's schema, and only the vault's role can read the vault.
export const serviceDefinitions = [
  { name: 'psp-simulator', entry: 'services/psp-simulator/src/main.js', basePort: 8090, replicated: false, migrates: false },
  { name: 'tokenization', entry: 'services/tokenization/src/main.js', basePort: 8082, grpcBasePort: 8083, replicated: true, replicasMin: 2, replicaPortStride: 1_000, migrates: true, database: { roleSuffix: 'vault', schema: 'vault' } },
  { name: 'intake', entry: 'services/intake/src/main.js', basePort: 8180, replicated: true, replicasMin: 2, migrates: true, seedsApiKey: true, database: { roleSuffix: 'intake', schema: 'intake' } },
  { name: 'fraud', entry: 'services/fraud/src/main.js', basePort: 8280, replicated: true, migrates: true, database: { roleSuffix: 'fraud', schema: 'fraud' } },
  { name: 'routing', entry: 'services/routing/src/main.js', basePort: 8380, replicated: true, migrates: true, database: { roleSuffix: 'routing', schema: 'routing' } },
  { name: 'gateway', entry: 'services/gateway/src/main.js', basePort: 8480, replicated: true, migrates: true, database: { roleSuffix: 'gateway', schema: 'gateway' } },
];

/** The services with a database of their own. */
export const databaseServices = serviceDefinitions.filter((definition) => definition.database);

/** Role names are identifiers of at most 63 bytes; the longest suffix is 8 (`_gateway`). */
const databaseNameLengthMax = 55;

/**
 * The role a service connects as in the database `databaseName`: `<database>_<suffix>`, e.g.
 * `dirigen_intake` in `dirigen`. Roles are cluster-wide: named after the database, two platforms on
 * one PostgreSQL (two checkouts, the test suite beside `npm start`) never share a role, so neither
 * resets the other's passwords.
 */
export function databaseRole(definition, databaseName) {
  if (!/^[a-z_][a-z0-9_]*$/.test(databaseName) || databaseName.length > databaseNameLengthMax) {
    throw new Error(`database name ${databaseName} must be a plain lower-case identifier of at most ${databaseNameLengthMax} characters`);
  }
  return `${databaseName}_${definition.database.roleSuffix}`;
}

/** The database a PostgreSQL URL names. */
export function databaseNameOf(url) {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** Where a bootstrap job outside the launcher (docker-compose, Kubernetes) reads a service role's password. */
export function databasePasswordVariable(serviceName) {
  return `${serviceName.toUpperCase().replace(/-/g, '_')}_DATABASE_PASSWORD`;
}
