import { describe, expect, it } from 'vitest';
import { readVaultTlsMaterial, vaultTlsFromEnvironment } from './vault-tls';

describe('vaultTlsFromEnvironment', () => {
  it('is plaintext when no TLS variable is set (or all are empty)', () => {
    expect(vaultTlsFromEnvironment({})).toEqual({ kind: 'plaintext' });
    expect(vaultTlsFromEnvironment({ VAULT_GRPC_TLS_CA: '', VAULT_GRPC_TLS_CERT: '', VAULT_GRPC_TLS_KEY: '' })).toEqual({ kind: 'plaintext' });
  });

  it('is mutual TLS when all three files are given', () => {
    expect(vaultTlsFromEnvironment({ VAULT_GRPC_TLS_CA: '/tls/ca.crt', VAULT_GRPC_TLS_CERT: '/tls/me.crt', VAULT_GRPC_TLS_KEY: '/tls/me.key' })).toEqual({
      kind: 'mutual', caFile: '/tls/ca.crt', certFile: '/tls/me.crt', keyFile: '/tls/me.key',
    });
  });

  it('carries the name the vault certificate must carry, when given', () => {
    expect(vaultTlsFromEnvironment({ VAULT_GRPC_TLS_CA: '/tls/ca.crt', VAULT_GRPC_TLS_CERT: '/tls/me.crt', VAULT_GRPC_TLS_KEY: '/tls/me.key', VAULT_GRPC_TLS_SERVER_NAME: 'vault.internal' })).toMatchObject({
      kind: 'mutual', serverName: 'vault.internal',
    });
  });

  it.each([
    [{ VAULT_GRPC_TLS_CA: '/tls/ca.crt' }, 'VAULT_GRPC_TLS_CERT, VAULT_GRPC_TLS_KEY'],
    [{ VAULT_GRPC_TLS_CERT: '/tls/me.crt', VAULT_GRPC_TLS_KEY: '/tls/me.key' }, 'VAULT_GRPC_TLS_CA'],
    [{ VAULT_GRPC_TLS_CA: '/tls/ca.crt', VAULT_GRPC_TLS_CERT: '/tls/me.crt', VAULT_GRPC_TLS_KEY: '' }, 'VAULT_GRPC_TLS_KEY'],
  ])('refuses a half configuration instead of falling back to plaintext (%j)', (env, missing) => {
    expect(() => vaultTlsFromEnvironment(env)).toThrow(`missing ${missing}`);
  });
});

describe('readVaultTlsMaterial', () => {
  it('names the variable and path of a file it cannot read', () => {
    expect(() => readVaultTlsMaterial({ kind: 'mutual', caFile: '/nonexistent/ca.crt', certFile: '/nonexistent/me.crt', keyFile: '/nonexistent/me.key' })).toThrow(
      'VAULT_GRPC_TLS_CA: cannot read /nonexistent/ca.crt (ENOENT)',
    );
  });
});
