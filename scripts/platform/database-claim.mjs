// Which database a local platform may use. A platform's state is split between its data dir (the
// vault's key-encryption key, the role passwords, the broker's log) and its database (cards sealed
// under that key, the key's check value): a second checkout pointed at the first one's database
// would find a KEK that does not match (the vault refuses to start) and would reset the first one's
// role passwords. So each database is claimed by one data dir (a comment on the database naming its
// platform id), and a checkout that finds the default database claimed by another gets its own.
import pg from 'pg';
import { ensureDatabase } from './postgres.mjs';
import { databaseNameOf } from './services.mjs';

const claimPrefix = 'dirigen platform ';

/** The platform id that claimed `databaseName`, or undefined when none did. */
export async function claimOf(adminUrl, databaseName) {
  const client = new pg.Client({ connectionString: withDatabase(adminUrl, 'postgres'), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1", [databaseName]);
    const comment = rows[0]?.comment;
    return typeof comment === 'string' && comment.startsWith(claimPrefix) ? comment.slice(claimPrefix.length).split(' ')[0] : undefined;
  } finally {
    await client.end();
  }
}

/** True when a platform already set the database up (its vault registered a key-encryption key). */
async function inUse(adminUrl) {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT to_regclass('vault.key_encryption_keys') IS NOT NULL AS used");
    return rows[0].used;
  } finally {
    await client.end();
  }
}

async function claim(adminUrl, databaseName, platformId, dataDir) {
  const client = new pg.Client({ connectionString: withDatabase(adminUrl, 'postgres'), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    // COMMENT takes no parameters; both parts are checked identifiers / escaped literals.
    const note = `${claimPrefix}${platformId} (data dir ${dataDir})`.replace(/'/g, "''");
    await client.query(`COMMENT ON DATABASE "${databaseName}" IS '${note}'`);
  } finally {
    await client.end();
  }
}

/**
 * Resolves the admin URL of the database this platform may use, claiming it. `freshDataDir`: the data
 * dir was created by this start (so an unclaimed database already in use cannot be its own). `requestedUrl`: the
 * admin URL asked for; `explicit`: whether the operator named it (DATABASE_URL, an option) or it is
 * the default. A default claimed by another platform gives way to `<name>_<platform id>`; a database
 * the operator named and another platform claimed is refused, saying what to do.
 */
export async function claimDatabase({ requestedUrl, explicit, platformId, dataDir, freshDataDir, log }) {
  const name = databaseNameOf(requestedUrl);
  // Databases set up before claims existed carry none: one in use belongs to a data dir that is not new.
  const owner = (await claimOf(requestedUrl, name)) ?? (freshDataDir && (await inUse(requestedUrl)) ? 'unknown (set up before databases were claimed)' : undefined);
  if (owner === undefined || owner === platformId) {
    if (owner === undefined) await claim(requestedUrl, name, platformId, dataDir);
    return requestedUrl;
  }
  if (explicit) {
    throw new Error(
      `database ${name} belongs to another Dirigen platform (id ${owner}; this data dir is ${platformId}): its vault keys and role passwords are in that checkout's data dir, ` +
        `so this vault could not read its cards and starting here would reset that platform's database passwords. ` +
        `Use a database of its own (DATABASE_URL=…/${name}_${platformId}), or, to start over here, run \`npm run reset\` in the checkout that owns it.`,
    );
  }
  const ownName = `${name}_${platformId}`;
  const ownUrl = withDatabase(requestedUrl, ownName);
  log(`[platform] database ${name} belongs to another checkout's platform (${owner}); this one uses its own database, ${ownName}`);
  await ensureDatabase(ownUrl);
  const ownOwner = await claimOf(ownUrl, ownName);
  if (ownOwner !== undefined && ownOwner !== platformId) throw new Error(`invariant: database ${ownName} is claimed by ${ownOwner}`);
  if (ownOwner === undefined) await claim(ownUrl, ownName, platformId, dataDir);
  return ownUrl;
}

function withDatabase(url, databaseName) {
  const changed = new URL(url);
  changed.pathname = `/${databaseName}`;
  return changed.toString();
}
