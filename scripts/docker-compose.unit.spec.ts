import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const repoRoot = resolve(__dirname, '..');
const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { build?: { context: string; dockerfile: string }; image?: string; environment?: Record<string, string> }>;
};
const serviceFolders = readdirSync(join(repoRoot, 'services'));

describe('docker-compose.yml', () => {
  it('parses and runs the broker in KRaft mode next to PostgreSQL', () => {
    expect(compose.services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(compose.services.postgres?.image).toMatch(/^postgres:/);
  });

  it('builds every service it names from a Dockerfile that exists, for a service folder that exists', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (!service.build) continue;
      expect(existsSync(join(repoRoot, service.build.context, service.build.dockerfile)), name).toBe(true);
      const folder = service.build.dockerfile.split('/')[1]!;
      expect(serviceFolders, name).toContain(folder);
    }
  });

  it('runs every service of the repository', () => {
    for (const folder of serviceFolders) expect(Object.keys(compose.services), folder).toContain(folder);
  });

  it('starts each service with the entry point its build produces', () => {
    for (const folder of serviceFolders) {
      const dockerfile = readFileSync(join(repoRoot, 'services', folder, 'Dockerfile'), 'utf8');
      expect(dockerfile).toContain(`dist/services/${folder}/src/main.js`);
      expect(existsSync(join(repoRoot, 'services', folder, 'src', 'main.ts'))).toBe(true);
    }
  });
});
