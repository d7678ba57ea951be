import './tracing';
import { runService } from '@dirigen/service-kit';
import { AppModule, bodyLimitBytes, config } from './app.module';
import { apiErrorOfVault } from './vault-api-errors';

void runService(AppModule, config, { bodyLimitBytes, mapError: apiErrorOfVault });
