import { startTracing } from '@dirigen/observability';

startTracing('gateway');
