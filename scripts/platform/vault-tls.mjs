// Local mode's mutual TLS between the vault and its callers: a small CA, a server certificate for the
// vault and one client certificate per caller, issued once under <dataDir>/vault/tls/ with the
// `openssl` CLI (keys from Node's crypto, EC P-256). Production brings its own (see README).
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The callers that get a client certificate; its subject CN is the caller's name, which the vault binds to `x-dirigen-caller`. */
export const vaultCallerNames = ['intake', 'gateway', 'auditor'];
/** Long enough for development; a set expiring within `renewBeforeMs` is issued anew at the next start. */
const validityDays = 365;
const renewBeforeMs = 7 * 24 * 3_600_000;
const opensslTimeoutMs = 30_000;

/** What the vault's certificate names besides 127.0.0.1 and localhost (e.g. `tokenization`, its compose host). */
const serverNameRule = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

// Our own configuration, so the system's openssl.cnf (its defaults and extensions) plays no part.
const opensslConfig = (serverNames) => `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost${serverNames.map((name) => `, DNS:${name}`).join('')}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** The files of one issued set, by role. */
export function vaultTlsPaths(dir) {
  const pair = (name) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  return { dir, ca: join(dir, 'ca.crt'), vault: pair('vault'), callers: Object.fromEntries(vaultCallerNames.map((name) => [name, pair(name)])) };
}

/**
 * The local set under `<dataDir>/vault/tls`, issued when missing, incomplete or about to expire.
 * Returns its paths. Fails with a clear error when `openssl` is not installed.
 */
export function ensureLocalVaultTls(dataDir, log = console.log) {
  const paths = vaultTlsPaths(join(dataDir, 'vault', 'tls'));
  const stale = staleReason(paths);
  if (stale) {
    issueVaultTls(paths.dir, { caName: 'Dirigen local vault CA' });
    log(`[platform] vault: mutual TLS certificates issued at ${paths.dir} (${stale}; local CA, valid ${validityDays} days)`);
  }
  return paths;
}

function staleReason(paths) {
  const certificates = [paths.ca, paths.vault.cert, ...Object.values(paths.callers).map((pair) => pair.cert)];
  const keys = [paths.vault.key, ...Object.values(paths.callers).map((pair) => pair.key)];
  if (![...certificates, ...keys].every((path) => existsSync(path))) return 'none yet, or some missing';
  const ca = new X509Certificate(readFileSync(paths.ca));
  for (const path of certificates) {
    const certificate = new X509Certificate(readFileSync(path));
    if (Date.parse(certificate.validTo) - Date.now() < renewBeforeMs) return `${path} expires ${certificate.validTo}`;
    if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) return `${path} is not signed by ${paths.ca}`;
  }
  return undefined;
}

/**
 * Issues a whole new set into `dir` (replacing one there): CA, vault server certificate (SAN 127.0.0.1,
 * localhost and `serverNames`), a client certificate per caller. The CA's key is destroyed once they are signed, so
 * nothing else can ever be signed by this CA; the next renewal makes a new one.
 */
export function issueVaultTls(dir, { caName, callers = vaultCallerNames, serverNames = [] }) {
  for (const name of serverNames) if (!serverNameRule.test(name)) throw new Error(`not a DNS name for the vault certificate: ${name}`);
  requireOpenssl();
  const paths = vaultTlsPaths(dir);
  const issueId = randomBytes(6).toString('hex');
  // Only our own files are replaced: `dir` may be any directory a user names (never wiped).
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Working files under names no one else uses, all removed before returning.
  const scratch = (name) => join(dir, `.vault-tls-${issueId}-${name}`);
  const configPath = scratch('openssl.cnf');
  const caKeyPath = scratch('ca.key');
  writeFileSync(configPath, opensslConfig(serverNames));
  try {
    writePrivateKey(caKeyPath);
    openssl(['req', '-config', configPath, '-new', '-x509', '-key', caKeyPath, '-subj', `/CN=${caName}`, '-days', String(validityDays), '-sha256', '-extensions', 'ca_ext', '-out', paths.ca]);
    const issue = (name, pair, extensions) => {
      const requestPath = scratch(`${name}.csr`);
      writePrivateKey(pair.key);
      openssl(['req', '-config', configPath, '-new', '-key', pair.key, '-subj', `/CN=${name}`, '-out', requestPath]);
      openssl([
        'x509', '-req', '-in', requestPath, '-CA', paths.ca, '-CAkey', caKeyPath, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
        '-days', String(validityDays), '-sha256', '-extfile', configPath, '-extensions', extensions, '-out', pair.cert,
      ]);
      rmSync(requestPath, { force: true });
    };
    issue('vault', paths.vault, 'server_ext');
    for (const name of callers) issue(name, { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) }, 'client_ext');
  } finally {
    rmSync(caKeyPath, { force: true });
    rmSync(configPath, { force: true });
  }
  return paths;
}

/** EC P-256, PKCS#8 PEM, readable by its owner only (created 0600, and chmod in case the file existed). */
function writePrivateKey(path) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  writeFileSync(path, privateKey, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function requireOpenssl() {
  const probe = spawnSync('openssl', ['version'], { encoding: 'utf8', timeout: opensslTimeoutMs });
  if (probe.error || probe.status !== 0) {
    throw new Error('the `openssl` CLI is needed to issue local mode\'s vault TLS certificates and was not found on PATH: install it (apt-get install openssl, brew install openssl); the local platform runs the vault over mutual TLS');
  }
}

function openssl(args) {
  const result = spawnSync('openssl', args, { encoding: 'utf8', timeout: opensslTimeoutMs });
  if (result.error || result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.error?.message ?? result.stderr.trim()}`);
}

// `npm run vault:tls -- --out <dir> [--server-name <dns name>]…`: a set for docker-compose or a staging
// cluster (the vault's certificate then also names e.g. `tokenization`). Production should prefer its own PKI.
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({ options: { out: { type: 'string' }, 'server-name': { type: 'string', multiple: true, default: [] } } });
  if (!values.out) {
    console.error('usage: npm run vault:tls -- --out <dir> [--server-name <dns name>]…');
    process.exit(2);
  }
  const paths = issueVaultTls(values.out, { caName: 'Dirigen vault CA', serverNames: values['server-name'] });
  console.log(`issued into ${paths.dir}: ca.crt; vault.crt/.key (127.0.0.1, localhost${values['server-name'].map((name) => `, ${name}`).join('')}); ${vaultCallerNames.map((name) => `${name}.crt/.key`).join(', ')}; keys 0600, valid ${validityDays} days; the CA key is destroyed`);
}
