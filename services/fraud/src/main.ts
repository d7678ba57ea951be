import './tracing';
import { runService } from '@dirigen/service-kit';
import { AppModule, config } from './app.module';

void runService(AppModule, config);
