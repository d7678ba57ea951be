#!/usr/bin/env node
// Wire-compatibility gate for the event contracts in proto/.
//
//   node scripts/proto-check.mjs                    buf lint, then buf breaking against proto/baseline.binpb, then (for the
//                                                   repository's own proto/) that libs/contracts/src/gen is what buf generates now
//   node scripts/proto-check.mjs --update-baseline  the same checks, then rewrite the baseline from the current schema
//   options: --proto-dir <dir> (default proto/), --baseline <file> (default <proto-dir>/baseline.binpb)
//
// The breaking rules (WIRE) and lint rules live in <proto-dir>/buf.yaml. Kafka topics keep messages written
// with every past schema, so a change that breaks the wire format breaks consumers reading old messages:
// the baseline is the schema already in production, and only wire-compatible changes may follow it.
// Offline by construction: the module has no remote deps, and google/protobuf/*.proto ship inside buf.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The buf CLI pinned in package.json, not whichever one is on PATH.
const bufEntry = createRequire(import.meta.url).resolve('@bufbuild/buf/bin/buf');
const bufTimeoutMs = 60_000;

const usage = 'usage: node scripts/proto-check.mjs [--proto-dir <dir>] [--baseline <file>] [--update-baseline]';

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'proto-dir': { type: 'string' },
      baseline: { type: 'string' },
      'update-baseline': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const protoDir = resolve(values['proto-dir'] ?? join(repoRoot, 'proto'));
  return {
    protoDir,
    baseline: resolve(values.baseline ?? join(protoDir, 'baseline.binpb')),
    updateBaseline: values['update-baseline'],
    help: values.help,
  };
}

/** Runs buf with its output passed through untouched; returns its exit status. */
function buf(args, env = process.env) {
  const result = spawnSync(process.execPath, [bufEntry, ...args], { stdio: 'inherit', timeout: bufTimeoutMs, env });
  if (result.error) {
    console.error(`proto-check: could not run buf ${args[0]}: ${result.error.message}`);
    return 1;
  }
  // A null status means buf was killed (timeout or signal): a failure, never a pass.
  return result.status ?? 1;
}

/** Every file under `dir`, as relative paths. */
function filesUnder(dir, prefix = '') {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), join(prefix, entry.name)) : [join(prefix, entry.name)],
  );
}

/**
 * The services (de)serialize gRPC and Kafka messages with the TypeScript generated from proto/, not the
 * .proto itself: a schema change without `npm run proto:generate` would put the old schema on the wire.
 * Generates afresh into a temporary directory and compares file by file.
 */
function checkGeneratedCode(protoDir) {
  const generatedDir = join(repoRoot, 'libs/contracts/src/gen');
  const scratch = mkdtempSync(join(tmpdir(), 'dirigen-proto-generate-'));
  try {
    // The protoc-gen-es plugin pinned in package.json.
    const env = { ...process.env, PATH: [join(repoRoot, 'node_modules/.bin'), process.env.PATH].join(delimiter) };
    const status = buf(['generate', '--template', join(protoDir, 'buf.gen.yaml'), '-o', scratch, protoDir], env);
    if (status !== 0) {
      console.error('proto-check: buf generate failed');
      return status;
    }
    const fresh = join(scratch, relative(repoRoot, generatedDir));
    const names = [...new Set([...filesUnder(fresh), ...filesUnder(generatedDir)])].sort();
    const stale = names.filter((name) => !existsSync(join(fresh, name)) || !existsSync(join(generatedDir, name)) || !readFileSync(join(fresh, name)).equals(readFileSync(join(generatedDir, name))));
    if (stale.length > 0) {
      console.error(`proto-check: ${display(generatedDir)} is not what the schema generates (${stale.join(', ')}); run npm run proto:generate`);
      return 1;
    }
    return 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function display(path) {
  const fromCwd = relative(process.cwd(), path);
  return fromCwd.startsWith('..') ? path : fromCwd || '.';
}

function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`proto-check: ${error.message}\n${usage}`);
    return 2;
  }
  if (options.help) {
    console.log(usage);
    return 0;
  }
  const { protoDir, baseline, updateBaseline } = options;
  if (!existsSync(join(protoDir, 'buf.yaml'))) {
    console.error(`proto-check: ${display(protoDir)} is not a buf module (no buf.yaml)`);
    return 2;
  }

  const lintStatus = buf(['lint', protoDir]);
  if (lintStatus !== 0) {
    console.error(`proto-check: buf lint failed for ${display(protoDir)}`);
    return lintStatus;
  }

  if (existsSync(baseline)) {
    const breakingStatus = buf(['breaking', protoDir, '--against', baseline]);
    if (breakingStatus !== 0) {
      console.error(
        `proto-check: the schema in ${display(protoDir)} is not wire-compatible with ${display(baseline)}.\n` +
          '  Add a field with a new number instead of renumbering or retyping one; reserve the numbers of removed fields.' +
          (updateBaseline ? '\n  Refusing to update the baseline. Only if no message was ever written with it, delete it and run again.' : ''),
      );
      return breakingStatus;
    }
  } else if (!updateBaseline) {
    console.error(`proto-check: no baseline at ${display(baseline)}; create it with --update-baseline`);
    return 1;
  }

  if (updateBaseline) {
    // Without source info, the image changes only when the schema does, not when a comment moves.
    const buildStatus = buf(['build', protoDir, '--exclude-source-info', '-o', baseline]);
    if (buildStatus !== 0) {
      console.error(`proto-check: buf build failed; baseline ${display(baseline)} not written`);
      return buildStatus;
    }
    console.log(`proto-check: wrote baseline ${display(baseline)}`);
    return 0;
  }

  if (protoDir === join(repoRoot, 'proto')) {
    const generatedStatus = checkGeneratedCode(protoDir);
    if (generatedStatus !== 0) return generatedStatus;
  }
  console.log(`proto-check: ${display(protoDir)} passes lint and is wire-compatible with ${display(baseline)}${protoDir === join(repoRoot, 'proto') ? '; the generated code is current' : ''}`);
  return 0;
}

process.exitCode = main();
