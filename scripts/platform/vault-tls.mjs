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

// Our own configuration, so the system's openssl.cnf (its defaults and extensions) plays no part.
const opensslConfig = `[req]
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
subjectAltName = IP:127.0.0.1, DNS:localhost
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
 * Issues a whole new set into `dir` (replacing any): CA, vault server certificate (SAN 127.0.0.1,
 * localhost), a client certificate per caller. The CA's key is destroyed once they are signed, so
 * nothing else can ever be signed by this CA; the next renewal makes a new one.
 */
export function issueVaultTls(dir, { caName, callers = vaultCallerNames }) {
  requireOpenssl();
  const paths = vaultTlsPaths(dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configPath = join(dir, 'openssl.cnf');
  const caKeyPath = join(dir, 'ca.key');
  writeFileSync(configPath, opensslConfig);
  try {
    writePrivateKey(caKeyPath);
    openssl(['req', '-config', configPath, '-new', '-x509', '-key', caKeyPath, '-subj', `/CN=${caName}`, '-days', String(validityDays), '-sha256', '-extensions', 'ca_ext', '-out', paths.ca]);
    const issue = (name, pair, extensions) => {
      const requestPath = join(dir, `${name}.csr`);
      writePrivateKey(pair.key);
      openssl(['req', '-config', configPath, '-new', '-key', pair.key, '-subj', `/CN=${name}`, '-out', requestPath]);
      openssl([
        'x509', '-req', '-in', requestPath, '-CA', paths.ca, '-CAkey', caKeyPath, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
        '-days', String(validityDays), '-sha256', '-extfile', configPath, '-extensions', extensions, '-out', pair.cert,
      ]);
      rmSync(requestPath);
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
