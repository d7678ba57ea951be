import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
// @ts-expect-error plain ESM launcher module without type declarations
import { databaseNameOf, databaseRole, databaseServices } from './platform/services.mjs';

const repoRoot = resolve(__dirname, '..');
type ComposeService = { build?: { context: string; dockerfile: string; args?: { SERVICE?: string } }; image?: string; environment?: Record<string, string> };
const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };
const serviceFolders = readdirSync(join(repoRoot, 'services'));
const built = Object.entries(compose.services).filter(([, service]) => service.build);

describe('docker-compose.yml', () => {
  it('parses and runs the broker in KRaft mode next to PostgreSQL', () => {
    expect(compose.services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(compose.services.postgres?.image).toMatch(/^postgres:/);
  });

  it('builds every service it names from a Dockerfile that exists, for a service folder that exists', () => {
    expect(built.length).toBeGreaterThan(0);
    for (const [name, service] of built) {
      expect(existsSync(join(repoRoot, service.build!.context, service.build!.dockerfile)), name).toBe(true);
      expect(serviceFolders, name).toContain(service.build!.args?.SERVICE);
      expect(existsSync(join(repoRoot, 'services', service.build!.args!.SERVICE!, 'src', 'main.ts')), name).toBe(true);
    }
  });

  it('runs every service of the repository under its own name', () => {
    for (const folder of serviceFolders) {
      expect(compose.services[folder]?.build?.args?.SERVICE, folder).toBe(folder);
    }
  });

  it('connects each service to PostgreSQL as its own role, and only the setup job as the admin', () => {
    for (const definition of databaseServices as { name: string }[]) {
      const url = compose.services[definition.name]!.environment!.DATABASE_URL!;
      expect(new URL(url).username, definition.name).toBe(databaseRole(definition, databaseNameOf(url)));
    }
    const admins = Object.entries(compose.services).filter(([, service]) => service.environment?.DATABASE_URL?.startsWith('postgres://postgres:'));
    expect(admins.map(([name]) => name)).toEqual(['setup']);
    expect(compose.services.setup?.environment?.TOKENIZATION_DATABASE_PASSWORD).toBeDefined();
  });

  it('starts the entry point the build produces for the service', () => {
    const dockerfile = readFileSync(join(repoRoot, 'deploy/docker/service.Dockerfile'), 'utf8');
    expect(dockerfile).toContain('SERVICE_ENTRY=dist/services/${SERVICE}/src/main.js');
    expect(readFileSync(join(repoRoot, 'tsconfig.build.json'), 'utf8')).toContain('"outDir": "dist"');
  });
});
