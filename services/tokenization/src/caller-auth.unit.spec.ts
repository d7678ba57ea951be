import { describe, expect, it } from 'vitest';
import { CallerAuthenticator, callerNameOfCertificate } from './caller-auth';

const gatewaySecret = 'gateway-secret-0123456789';
const intakeSecret = 'intake-secret-0123456789';
const callers = `intake:${intakeSecret},gateway:${gatewaySecret}`;

describe('CallerAuthenticator under mutual TLS', () => {
  const authenticator = new CallerAuthenticator(callers, { certificateRequired: true });

  it('accepts a caller whose certificate, name and secret agree', () => {
    expect(authenticator.authenticate({ name: 'gateway', secret: gatewaySecret, certificateName: 'gateway' }, 'detokenize')).toBe('ok');
  });

  it("refuses intake's certificate presenting the gateway's name and real secret", () => {
    expect(authenticator.authenticate({ name: 'gateway', secret: gatewaySecret, certificateName: 'intake' }, 'detokenize')).toBe('certificate_mismatch');
  });

  it('refuses a call without a certificate name, even with the right secret (fail closed)', () => {
    expect(authenticator.authenticate({ name: 'gateway', secret: gatewaySecret, certificateName: undefined }, 'detokenize')).toBe('certificate_mismatch');
  });

  it('still checks the secret when the certificate matches (defence in depth)', () => {
    expect(authenticator.authenticate({ name: 'gateway', secret: 'not-the-gateway-secret', certificateName: 'gateway' }, 'detokenize')).toBe('unauthenticated');
  });

  it('still checks permissions: intake with its own certificate may not detokenize', () => {
    expect(authenticator.authenticate({ name: 'intake', secret: intakeSecret, certificateName: 'intake' }, 'detokenize')).toBe('forbidden');
  });
});

describe('CallerAuthenticator in plaintext (local development)', () => {
  const authenticator = new CallerAuthenticator(callers, { certificateRequired: false });

  it('authenticates by secret alone when there is no certificate', () => {
    expect(authenticator.authenticate({ name: 'gateway', secret: gatewaySecret, certificateName: undefined }, 'detokenize')).toBe('ok');
    expect(authenticator.authenticate({ name: 'gateway', secret: intakeSecret, certificateName: undefined }, 'detokenize')).toBe('unauthenticated');
  });
});

describe('callerNameOfCertificate', () => {
  it("is the subject's one common name", () => {
    expect(callerNameOfCertificate({ CN: 'gateway' })).toBe('gateway');
  });

  it('is nobody for several common names, none, or an empty one', () => {
    expect(callerNameOfCertificate({ CN: ['intake', 'gateway'] })).toBeUndefined();
    expect(callerNameOfCertificate({})).toBeUndefined();
    expect(callerNameOfCertificate({ CN: '' })).toBeUndefined();
    expect(callerNameOfCertificate(undefined)).toBeUndefined();
  });
});
