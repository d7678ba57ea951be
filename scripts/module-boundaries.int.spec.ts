import { ESLint } from 'eslint';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(__dirname, '..');
const eslint = new ESLint({ cwd: repoRoot });

/** Lints `code` as if it were the file at `path`, without writing it. */
async function boundaryErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(repoRoot, path) });
  return result!.messages.filter((message) => message.ruleId === '@nx/enforce-module-boundaries').map((message) => message.message);
}

describe('architecture boundaries are enforced by lint', () => {
  it('refuses a framework import in a domain library', async () => {
    expect(await boundaryErrors('libs/domain/payments/src/probe.ts', "import { Injectable } from '@nestjs/common';\nexport const probe = Injectable;\n")).toEqual([
      expect.stringContaining('is not allowed to import "@nestjs/common"'),
    ]);
  });

  it('refuses a domain library depending on infrastructure', async () => {
    expect(await boundaryErrors('libs/domain/cards/src/probe.ts', "import { createKafka } from '@dirigen/messaging';\nexport const probe = createKafka;\n")).toEqual([
      expect.stringContaining('can only depend on libs tagged with "type:domain"'),
    ]);
  });

  it('refuses a service importing another service', async () => {
    expect(await boundaryErrors('services/routing/src/probe.ts', "import { config } from '../../fraud/src/app.module';\nexport const probe = config;\n")).not.toEqual([]);
  });

  it('lets a service use the libraries', async () => {
    expect(await boundaryErrors('services/routing/src/probe.ts', "import { routeByPriority } from '@dirigen/routing-rules';\nexport const probe = routeByPriority;\n")).toEqual([]);
  });
});
