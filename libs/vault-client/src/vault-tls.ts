import { readFileSync } from 'node:fs';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { VaultClient, type VaultCaller, type VaultClientOptions } from './vault-client';

/** The variables that turn on mutual TLS between the vault and its callers (file paths, PEM). */
export const vaultTlsVariables = {
  /** Vault: the CA that signs its callers' certificates. Caller: the CA that signs the vault's certificate. */
  ca: 'VAULT_GRPC_TLS_CA',
  /** This process's own certificate (chain). */
  cert: 'VAULT_GRPC_TLS_CERT',
  /** This process's own private key. */
  key: 'VAULT_GRPC_TLS_KEY',
} as const;

/**
 * Callers only, optional: the name the vault's certificate must carry, when it is not the host of
 * VAULT_GRPC_ADDRESS (an IP, or a name the certificate lacks). Also what the TLS handshake sends as
 * SNI, which RFC 6066 forbids to be an IP (Node warns, DEP0123).
 */
export const vaultTlsServerNameVariable = 'VAULT_GRPC_TLS_SERVER_NAME';

/**
 * How the vault's gRPC connections are protected: mutual TLS when all three files are given,
 * plaintext (local development only) when none is. Anything in between is a misconfiguration.
 */
export type VaultTlsSettings = { kind: 'plaintext' } | { kind: 'mutual'; caFile: string; certFile: string; keyFile: string; serverName?: string };

/** The PEM material of mutual TLS, read once at start (a restart picks up renewed certificates). */
export interface VaultTlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads the TLS settings. Some but not all variables set is refused, naming the missing ones:
 * a half-configured deployment must not silently fall back to sending card data in the clear.
 * An empty value counts as unset (compose files interpolate unset variables to '').
 */
export function vaultTlsFromEnvironment(env: NodeJS.ProcessEnv): VaultTlsSettings {
  const caFile = env[vaultTlsVariables.ca] || undefined;
  const certFile = env[vaultTlsVariables.cert] || undefined;
  const keyFile = env[vaultTlsVariables.key] || undefined;
  const serverName = env[vaultTlsServerNameVariable] || undefined;
  if (caFile && certFile && keyFile) return { kind: 'mutual', caFile, certFile, keyFile, ...(serverName ? { serverName } : {}) };
  if (!caFile && !certFile && !keyFile) return { kind: 'plaintext' };
  const missing = Object.values(vaultTlsVariables).filter((name) => !env[name]);
  throw new Error(`vault mutual TLS is half configured: set ${Object.values(vaultTlsVariables).join(', ')} together (or none, for plaintext in local development); missing ${missing.join(', ')}`);
}

/** The files' contents; a file that cannot be read is named (its path, never its content). */
export function readVaultTlsMaterial(settings: Extract<VaultTlsSettings, { kind: 'mutual' }>): VaultTlsMaterial {
  const read = (variable: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  return { ca: read(vaultTlsVariables.ca, settings.caFile), cert: read(vaultTlsVariables.cert, settings.certFile), key: read(vaultTlsVariables.key, settings.keyFile) };
}

/**
 * A caller's channel credentials: its own certificate for the vault to check, and the CA that must
 * have signed the vault's certificate (whose SAN must match the host of VAULT_GRPC_ADDRESS).
 * Undefined in plaintext mode (the client then connects insecurely, as in local development before TLS).
 */
export function vaultChannelCredentials(settings: VaultTlsSettings): ChannelCredentials | undefined {
  if (settings.kind === 'plaintext') return undefined;
  const material = readVaultTlsMaterial(settings);
  // Explicit: the vault's certificate must chain to our CA and name the host we dial.
  return credentials.createSsl(material.ca, material.key, material.cert, { rejectUnauthorized: true });
}

/** The transport part of a caller's `VaultClientOptions`: nothing in plaintext mode, else mutual TLS credentials and the expected server name. */
export function vaultClientTransport(settings: VaultTlsSettings): Pick<VaultClientOptions, 'channelCredentials' | 'tlsServerName'> {
  if (settings.kind === 'plaintext') return {};
  return { channelCredentials: vaultChannelCredentials(settings), ...(settings.serverName ? { tlsServerName: settings.serverName } : {}) };
}

/**
 * A service's vault client as its environment configures it: `VAULT_GRPC_ADDRESS`, its credential
 * `VAULT_CALLER_SECRET`, and mutual TLS when `VAULT_GRPC_TLS_*` are set (a half configuration throws,
 * failing the start).
 */
export function vaultClientFromEnvironment(caller: VaultCaller, timeoutMs: number, env: NodeJS.ProcessEnv): VaultClient {
  return new VaultClient({
    address: env.VAULT_GRPC_ADDRESS ?? '127.0.0.1:8083',
    caller,
    callerSecret: env.VAULT_CALLER_SECRET ?? '',
    timeoutMs,
    ...vaultClientTransport(vaultTlsFromEnvironment(env)),
  });
}
