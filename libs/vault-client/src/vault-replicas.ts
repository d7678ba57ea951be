import { isIPv4, isIPv6 } from 'node:net';
import { vaultV1 } from '@dirigen/contracts';

/**
 * How a caller reaches every vault replica. `VAULT_GRPC_ADDRESS` is one `host:port` (a DNS name
 * resolving to each replica, such as a Kubernetes headless Service, or a single vault), or a
 * comma-separated list of `ip:port` (`127.0.0.1:8083,127.0.0.1:9083`), which becomes grpc-js's
 * `ipv4:`/`ipv6:` target. grpc-js resolves neither a list of DNS names nor one mixing IPv4 and
 * IPv6 addresses, so those are refused here, at start, rather than failing every call later.
 */
export function vaultGrpcTarget(address: string): string {
  const entries = address.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => entry === '')) throw new Error(`VAULT_GRPC_ADDRESS has an empty entry: ${address}`);
  if (entries.length === 1) return entries[0]!;
  const hosts = entries.map((entry) => hostOf(entry, address));
  if (hosts.every((host) => isIPv4(host))) return `ipv4:${entries.join(',')}`;
  if (hosts.every((host) => isIPv6(host))) return `ipv6:${entries.join(',')}`;
  throw new Error(
    `VAULT_GRPC_ADDRESS lists several replicas: give each as ip:port, all IPv4 or all IPv6 ([::1]:8083), or give one DNS name that resolves to every replica; got ${address}`,
  );
}

function hostOf(entry: string, address: string): string {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(entry) ?? /^([^:]+):(\d{1,5})$/.exec(entry);
  if (!match) throw new Error(`VAULT_GRPC_ADDRESS entry ${entry} is not host:port (in ${address})`);
  return match[1]!;
}

/**
 * Two retries ("attempts" counts the first call): a replica that just died can still look ready to the
 * balancer for a moment, so one retry sometimes landed on it again (a fresh-clone e2e run saw a 503);
 * the backoff gives the channel time to notice. Not enough to multiply load on a sick vault.
 */
export const vaultCallAttemptsMax = 3;

/**
 * Calls a second attempt may repeat without harm, even when the first one was served before its
 * answer was lost: reads (LookupToken, QueryAudit), Detokenize (a second audit row, as truthful as
 * the first; DetokenizeBatch too), HoldSecurityCode and ReleaseSecurityCode(s) (keyed by token and payment), and Tokenize,
 * which the client always sends with a request id (the vault stores a card once per id).
 * DeleteToken is not: a repeat would answer "not found" for a token the first call deleted.
 */
export const vaultIdempotentMethods = ['Tokenize', 'LookupToken', 'Detokenize', 'DetokenizeBatch', 'HoldSecurityCode', 'ReleaseSecurityCode', 'ReleaseSecurityCodes', 'QueryAudit'] as const;

/**
 * The channel's service config (gRPC's, not the resolver's: resolution of it is disabled):
 * `round_robin` over every address the target resolves to, so calls spread over the replicas and
 * a replica whose connection is down is skipped; and a retry policy for idempotent methods, so a
 * call that fails UNAVAILABLE (the replica died under it, or refused it) is made once more, picked
 * afresh (round robin: the next ready replica), within the call's own deadline. A call that never
 * left the client is retried transparently by grpc-js for every method.
 */
export function vaultServiceConfig(): string {
  const service = vaultV1.VaultService.typeName;
  return JSON.stringify({
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: [
      {
        name: vaultIdempotentMethods.map((method) => ({ service, method })),
        retryPolicy: { maxAttempts: vaultCallAttemptsMax, initialBackoff: '0.05s', maxBackoff: '0.2s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] },
      },
    ],
  });
}
