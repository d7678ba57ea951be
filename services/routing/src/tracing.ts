import { startTracing } from '@dirigen/observability';

startTracing('routing');
