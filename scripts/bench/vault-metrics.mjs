// Vault calls served, from each vault replica's Prometheus endpoint: dirigen_vault_calls_total summed
// over methods, outcomes and replicas (a replica restarted in between starts again from zero).

const scrapeTimeoutMs = 3_000;
const seriesPattern = /^dirigen_vault_calls_total(?:\{[^}]*\})?\s+([0-9.eE+-]+)\s*$/;

/** `{ calls, unreachable }`: the sum over the replicas that answered, and the URLs that did not. */
export async function vaultCallsTotal(urls) {
  let calls = 0;
  const unreachable = [];
  await Promise.all(urls.map(async (url) => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(scrapeTimeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      for (const line of (await response.text()).split('\n')) {
        const match = seriesPattern.exec(line);
        if (match) calls += Number(match[1]);
      }
    } catch {
      unreachable.push(url);
    }
  }));
  return { calls, unreachable };
}
