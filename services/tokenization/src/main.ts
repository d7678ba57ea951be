import './tracing';
import type { INestApplication } from '@nestjs/common';
import type { Logger } from '@dirigen/observability';
import { LOGGER, runService } from '@dirigen/service-kit';
import type { VaultTlsSettings } from '@dirigen/vault-client';
import { AppModule, config, VAULT_TLS, vaultGrpcPort } from './app.module';
import { vaultGrpcOptions } from './vault-grpc.options';

function connectVaultGrpc(app: INestApplication): void {
  const tls = app.get<VaultTlsSettings>(VAULT_TLS);
  if (tls.kind === 'plaintext') {
    app.get<Logger>(LOGGER).warn(
      { port: vaultGrpcPort },
      'vault gRPC without TLS: card data travels unencrypted and callers are not authenticated by certificate; local development only (set VAULT_GRPC_TLS_CERT, VAULT_GRPC_TLS_KEY, VAULT_GRPC_TLS_CA)',
    );
  }
  app.connectMicroservice(vaultGrpcOptions(vaultGrpcPort, tls));
}

void runService(AppModule, config, { connectMicroservices: connectVaultGrpc });
