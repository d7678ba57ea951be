import 'reflect-metadata';
import { create } from '@bufbuild/protobuf';
import { vaultV1 } from '@dirigen/contracts';
import { describe, expect, it } from 'vitest';
import { DetokenizeRules, HoldSecurityCodeRules, QueryAuditRules, TokenizeRules, validated } from './vault-grpc.requests';
import { VaultError } from './vault-error';

function refusal(run: () => unknown): VaultError {
  try {
    run();
  } catch (error) {
    if (error instanceof VaultError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const card = { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' };

describe('validated (the vault gRPC request limits)', () => {
  it('passes a well-formed tokenize request through, as decoded from the wire', () => {
    const request = create(vaultV1.TokenizeRequestSchema, { merchantId: 'mer_1', card, use: vaultV1.CardUse.SAVED });
    expect(validated(TokenizeRules, request)).toMatchObject({ merchantId: 'mer_1', card, use: vaultV1.CardUse.SAVED });
  });

  it('refuses a tokenize request that does not say what the card is stored for', () => {
    expect(refusal(() => validated(TokenizeRules, create(vaultV1.TokenizeRequestSchema, { merchantId: 'mer_1', card })))).toMatchObject({ code: 'invalid_request', field: 'use' });
  });

  it('names the field at fault the way the .proto spells it, and never echoes its value', () => {
    const error = refusal(() => validated(TokenizeRules, create(vaultV1.TokenizeRequestSchema, { merchantId: 'mer_1', card: { ...card, expMonth: 13 } })));
    expect(error).toMatchObject({ code: 'invalid_request', field: 'card.exp_month' });
    const long = refusal(() => validated(TokenizeRules, create(vaultV1.TokenizeRequestSchema, { merchantId: 'mer_1', card: { ...card, number: '4'.repeat(24) } })));
    expect(long).toMatchObject({ code: 'invalid_request', field: 'card.number' });
    expect(long.message).not.toContain('4444');
  });

  it('refuses a tokenize request without a card or without its security code', () => {
    expect(refusal(() => validated(TokenizeRules, create(vaultV1.TokenizeRequestSchema, { merchantId: 'mer_1' })))).toMatchObject({ field: 'card' });
    const { cvc: _cvc, ...withoutCvc } = card;
    expect(refusal(() => validated(TokenizeRules, create(vaultV1.TokenizeRequestSchema, { merchantId: 'mer_1', card: withoutCvc })))).toMatchObject({ field: 'card.cvc' });
  });

  it('bounds ids to 64 characters and lets optional ones be empty', () => {
    const request = { merchantId: 'mer_1', token: 'tok_1', purpose: 'authorization', paymentId: '' };
    expect(validated(DetokenizeRules, create(vaultV1.DetokenizeRequestSchema, request))).toMatchObject({ paymentId: '' });
    expect(refusal(() => validated(DetokenizeRules, create(vaultV1.DetokenizeRequestSchema, { ...request, paymentId: 'p'.repeat(65) })))).toMatchObject({ field: 'payment_id' });
    expect(refusal(() => validated(DetokenizeRules, create(vaultV1.DetokenizeRequestSchema, { ...request, merchantId: '' })))).toMatchObject({ field: 'merchant_id' });
  });

  it('needs a payment and a 3 or 4 digit code to hold a security code', () => {
    const hold = { merchantId: 'mer_1', token: 'tok_1', paymentId: 'pay_1', cvc: '123' };
    expect(refusal(() => validated(HoldSecurityCodeRules, create(vaultV1.HoldSecurityCodeRequestSchema, { ...hold, paymentId: '' })))).toMatchObject({ field: 'payment_id' });
    expect(refusal(() => validated(HoldSecurityCodeRules, create(vaultV1.HoldSecurityCodeRequestSchema, { ...hold, cvc: '12' })))).toMatchObject({ field: 'cvc' });
  });

  it('caps an audit page at 100 entries', () => {
    expect(refusal(() => validated(QueryAuditRules, create(vaultV1.QueryAuditRequestSchema, { token: 'tok_1', limit: 101 })))).toMatchObject({ field: 'limit' });
  });
});
