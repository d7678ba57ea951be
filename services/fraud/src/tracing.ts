import { startTracing } from '@dirigen/observability';

startTracing('fraud');
