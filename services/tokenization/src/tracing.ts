import { startTracing } from '@dirigen/observability';

startTracing('tokenization');
