import { describe, expect, it } from 'vitest';
import { vaultGrpcTarget, vaultIdempotentMethods, vaultServiceConfig } from './vault-replicas';

describe('vaultGrpcTarget', () => {
  it('passes one address through unchanged, a DNS name included (it may resolve to every replica)', () => {
    expect(vaultGrpcTarget('127.0.0.1:8083')).toBe('127.0.0.1:8083');
    expect(vaultGrpcTarget('vault-headless.payments.svc:8083')).toBe('vault-headless.payments.svc:8083');
  });

  it('turns a list of replicas into an ipv4 or ipv6 target, ignoring spaces after the commas', () => {
    expect(vaultGrpcTarget('127.0.0.1:8083, 127.0.0.1:9083')).toBe('ipv4:127.0.0.1:8083,127.0.0.1:9083');
    expect(vaultGrpcTarget('[::1]:8083,[::1]:9083')).toBe('ipv6:[::1]:8083,[::1]:9083');
  });

  it('refuses a list grpc-js cannot resolve (DNS names, IPv4 mixed with IPv6), an empty entry, or an entry without a port', () => {
    expect(() => vaultGrpcTarget('vault-1:8083,vault-2:8083')).toThrow(/one DNS name that resolves to every replica/);
    expect(() => vaultGrpcTarget('127.0.0.1:8083,[::1]:9083')).toThrow(/all IPv4 or all IPv6/);
    expect(() => vaultGrpcTarget('127.0.0.1:8083,')).toThrow(/empty entry/);
    expect(() => vaultGrpcTarget('127.0.0.1:8083,127.0.0.1')).toThrow(/not host:port/);
  });
});

describe('vaultServiceConfig', () => {
  const config = JSON.parse(vaultServiceConfig()) as {
    loadBalancingConfig: Record<string, unknown>[];
    methodConfig: { name: { service: string; method: string }[]; retryPolicy: { maxAttempts: number; retryableStatusCodes: string[] } }[];
  };

  it('balances round robin over the replicas', () => {
    expect(config.loadBalancingConfig).toEqual([{ round_robin: {} }]);
  });

  it('retries only idempotent methods, once, and only when the vault was unavailable', () => {
    const [retried] = config.methodConfig;
    expect(retried!.name.map((name) => name.method).sort()).toEqual([...vaultIdempotentMethods].sort());
    expect(retried!.name.map((name) => name.method)).not.toContain('DeleteToken');
    expect(retried!.name.every((name) => name.service === 'dirigen.vault.v1.VaultService')).toBe(true);
    expect(retried!.retryPolicy).toMatchObject({ maxAttempts: 3, retryableStatusCodes: ['UNAVAILABLE'] });
  });
});
