// Creates the platform's topics with their declared partition counts (idempotent).
// `node scripts/platform/provision-topics.mjs` with KAFKA_BROKERS set; used by docker-compose and Kubernetes jobs.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');
const { platformTopics, provisionTopics } = require(join(repoRoot, 'dist/libs/messaging/src/topics.js'));

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const admin = new Kafka({ clientId: 'topic-provisioner', brokers, logLevel: logLevel.WARN, retry: { retries: 20 } }).admin();
await admin.connect();
try {
  await provisionTopics(admin, platformTopics);
  console.log(JSON.stringify({ msg: 'topics provisioned', topics: platformTopics.map((topic) => `${topic.name} (${topic.partitions})`) }));
} finally {
  await admin.disconnect();
}
