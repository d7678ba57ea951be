import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repoRoot = resolve(__dirname, '..');
const script = join(repoRoot, 'scripts', 'proto-check.mjs');
const committedBaseline = join(repoRoot, 'proto', 'baseline.binpb');
const paymentEventsFile = join('dirigen', 'events', 'v1', 'payment_events.proto');

// Any attempt to reach the network fails fast: the check must work offline.
const offlineEnv = { ...process.env, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '' };

function runCheck(args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], { env: offlineEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', fail);
    child.on('close', (status) => done({ status, output }));
  });
}

describe('proto-check', () => {
  let protoDir: string;

  beforeEach(async () => {
    protoDir = join(await mkdtemp(join(tmpdir(), 'dirigen-proto-check-')), 'proto');
    await cp(join(repoRoot, 'proto'), protoDir, { recursive: true });
  });

  afterEach(async () => {
    await rm(resolve(protoDir, '..'), { recursive: true, force: true });
  });

  /** Edits the copied payment_events.proto; fails loudly if the schema no longer contains `from`. */
  async function editPaymentEvents(from: string, to: string): Promise<void> {
    const path = join(protoDir, paymentEventsFile);
    const source = await readFile(path, 'utf8');
    expect(source, `fixture: ${paymentEventsFile} should contain "${from}"`).toContain(from);
    await writeFile(path, source.replace(from, to));
  }

  const againstCommitted = () => ['--proto-dir', protoDir, '--baseline', committedBaseline];

  it('passes an unchanged copy of the schema', async () => {
    const { status, output } = await runCheck(againstCommitted());

    expect(output).toContain('wire-compatible');
    expect(status).toBe(0);
  });

  it('fails when a field is renumbered, naming the field', async () => {
    await editPaymentEvents('int64 amount_minor = 1;', 'int64 amount_minor = 9;');

    const { status, output } = await runCheck(againstCommitted());

    expect(status).not.toBe(0);
    expect(output).toMatch(/field "1" with name "amount_minor" on message "Money"/);
  });

  it('fails when a field changes type, naming the field', async () => {
    await editPaymentEvents('uint32 latency_ms = 6;', 'string latency_ms = 6;');

    const { status, output } = await runCheck(againstCommitted());

    expect(status).not.toBe(0);
    expect(output).toMatch(/Field "6" with name "latency_ms" on message "PaymentAttemptCompleted" changed type/);
  });

  it('passes when a field is added with a new number', async () => {
    await editPaymentEvents('  string failure_kind = 8;\n', '  string failure_kind = 8;\n  string merchant_reference = 10;\n');

    const { status } = await runCheck(againstCommitted());

    expect(status).toBe(0);
  });

  it('fails on a lint error before comparing with the baseline', async () => {
    await editPaymentEvents('message RiskReason {', 'message risk_reason {');
    await editPaymentEvents('repeated RiskReason reasons = 3;', 'repeated risk_reason reasons = 3;');

    const { status, output } = await runCheck(againstCommitted());

    expect(status).not.toBe(0);
    expect(output).toContain('risk_reason');
    expect(output).toContain('buf lint failed');
  });

  it('updates the baseline with a compatible change, which then guards the new field too', async () => {
    // given: a new field, accepted into the copy's own baseline
    await editPaymentEvents('  string failure_kind = 8;\n', '  string failure_kind = 8;\n  string merchant_reference = 10;\n');
    expect((await runCheck(['--proto-dir', protoDir, '--update-baseline'])).status).toBe(0);

    // when: the new field is retyped
    await editPaymentEvents('string merchant_reference = 10;', 'int64 merchant_reference = 10;');
    const { status, output } = await runCheck(['--proto-dir', protoDir]);

    // then
    expect(status).not.toBe(0);
    expect(output).toContain('"merchant_reference"');
  });

  it('refuses to update the baseline with a wire-incompatible change', async () => {
    const baseline = join(protoDir, 'baseline.binpb');
    const before = await readFile(baseline);
    await editPaymentEvents('int64 amount_minor = 1;', 'string amount_minor = 1;');

    const { status, output } = await runCheck(['--proto-dir', protoDir, '--update-baseline']);

    expect(status).not.toBe(0);
    expect(output).toContain('Refusing to update the baseline');
    expect(await readFile(baseline)).toEqual(before);
  });
});
