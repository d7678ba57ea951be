import './tracing';
import { runService } from '@dirigen/service-kit';
import { AppModule, bodyLimitBytes, config } from './app.module';

void runService(AppModule, config, bodyLimitBytes);
