import './tracing';
import { runService } from '@dirigen/service-kit';
import { AppModule, config, vaultGrpcPort } from './app.module';
import { vaultGrpcOptions } from './vault-grpc.options';

void runService(AppModule, config, { connectMicroservices: (app) => app.connectMicroservice(vaultGrpcOptions(vaultGrpcPort)) });
