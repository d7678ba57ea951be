import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scramSha256Verifier, serviceDatabaseUrl } from './database-roles';

// RFC 7677 section 3: user "user", password "pencil", and the messages of one exchange.
const rfc7677 = {
  password: 'pencil',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  authMessage:
    'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientProof: Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64'),
  serverSignature: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

describe('scramSha256Verifier', () => {
  it('given the RFC 7677 password and salt, when hashed, then its keys verify the RFC exchange', () => {
    const verifier = scramSha256Verifier(rfc7677.password, rfc7677.salt, 4096);
    const match = /^SCRAM-SHA-256\$4096:([^$]+)\$([^:]+):(.+)$/.exec(verifier);
    expect(match?.[1]).toBe('W22ZaJ0SNY7soEsUEjb6gQ==');
    const storedKey = Buffer.from(match![2]!, 'base64');
    const serverKey = Buffer.from(match![3]!, 'base64');
    // The server signs the exchange with ServerKey, and recovers ClientKey from the proof with StoredKey.
    expect(`v=${createHmac('sha256', serverKey).update(rfc7677.authMessage).digest('base64')}`).toBe(rfc7677.serverSignature);
    const clientSignature = createHmac('sha256', storedKey).update(rfc7677.authMessage).digest();
    const clientKey = Buffer.from(rfc7677.clientProof.map((byte, index) => byte ^ clientSignature[index]!));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
  });

  it('given the same password twice, when hashed, then each verifier has its own salt', () => {
    expect(scramSha256Verifier('a-long-enough-password')).not.toBe(scramSha256Verifier('a-long-enough-password'));
  });

  it('given a password with a space or non-ASCII characters, when hashed, then it is refused', () => {
    expect(() => scramSha256Verifier('with space inside it')).toThrow(/printable ASCII/);
    expect(() => scramSha256Verifier('pässwörd-pässwörd')).toThrow(/printable ASCII/);
  });
});

describe('serviceDatabaseUrl', () => {
  it('given the admin URL, when a service URL is built, then only the credentials change', () => {
    const url = serviceDatabaseUrl('postgres://postgres:secret@db.internal:5433/dirigen?sslmode=require', 'dirigen_vault', 'p@ss/word');
    expect(new URL(url)).toMatchObject({ username: 'dirigen_vault', password: 'p%40ss%2Fword', host: 'db.internal:5433', pathname: '/dirigen', search: '?sslmode=require' });
  });

  it('given an admin URL without a password, when a service URL is built, then it carries the role password', () => {
    expect(serviceDatabaseUrl('postgres://postgres@127.0.0.1:5432/dirigen_e2e', 'dirigen_intake', 'pw')).toBe('postgres://dirigen_intake:pw@127.0.0.1:5432/dirigen_e2e');
  });
});
