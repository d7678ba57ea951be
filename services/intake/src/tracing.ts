import { startTracing } from '@dirigen/observability';

startTracing('intake');
