// The services the platform runs, each as its own process (services never import each other).
export const serviceDefinitions = [
  { name: 'psp-simulator', entry: 'services/psp-simulator/src/main.js', basePort: 8090, replicated: false, migrates: false },
  { name: 'tokenization', entry: 'services/tokenization/src/main.js', basePort: 8082, grpcBasePort: 8083, replicated: false, migrates: true },
  { name: 'intake', entry: 'services/intake/src/main.js', basePort: 8180, replicated: true, migrates: true, seedsApiKey: true },
  { name: 'fraud', entry: 'services/fraud/src/main.js', basePort: 8280, replicated: true, migrates: true },
  { name: 'routing', entry: 'services/routing/src/main.js', basePort: 8380, replicated: true, migrates: true },
  { name: 'gateway', entry: 'services/gateway/src/main.js', basePort: 8480, replicated: true, migrates: true },
];
