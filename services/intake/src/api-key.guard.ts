import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ApiError, DATA_SOURCE, ExpiringCache } from '@dirigen/service-kit';
import type { DataSource } from 'typeorm';
import { apiKeyHash } from './intake.migrations';

export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  merchantId?: string;
}

const cacheTtlMs = 30_000;
const cachedKeysMax = 10_000;

/**
 * `Authorization: Bearer <secret key>`: looks the key up by its SHA-256 (an index lookup on a
 * digest leaks nothing usable about the key) and attaches the merchant to the request.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  /** Unknown keys are cached too, so a flood of wrong keys does not become a flood of queries. */
  private readonly cache = new ExpiringCache<string, string | undefined>(cacheTtlMs, cachedKeysMax);

  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (\S{1,200})$/.exec(header) : null;
    if (!match) throw new ApiError(401, 'authentication_error', 'api_key_missing', 'Provide your secret key as "Authorization: Bearer <key>".');
    const merchantId = await this.merchantFor(match[1]!);
    if (!merchantId) throw new ApiError(401, 'authentication_error', 'api_key_invalid', 'Invalid API key.');
    request.merchantId = merchantId;
    return true;
  }

  private merchantFor(secretKey: string): Promise<string | undefined> {
    const hash = apiKeyHash(secretKey);
    return this.cache.get(hash.toString('base64'), async () => {
      const [row]: { merchant_id: string }[] = await this.dataSource.query('SELECT merchant_id FROM intake.api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [hash]);
      return row?.merchant_id;
    });
  }
}
