// Kafka's counters for the platform's broker: messages produced (end offsets of every non-internal
// topic) and delivered to consumer groups (their committed offsets), and the groups' lag.
import kafkajs from 'kafkajs';

const { AssignerProtocol, Kafka, logLevel } = kafkajs;

/** Topics and groups the bench makes itself (the broker's ceiling) never count as the platform's. */
export const benchPrefix = 'bench.';

export async function openKafkaCounters(brokers) {
  const kafka = new Kafka({
    clientId: 'dirigen-bench-counters',
    brokers,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2_000 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  return { snapshot: () => takeSnapshot(admin), lag: () => activeGroupsLag(admin), close: () => admin.disconnect() };
}

/** `produced`: the sum of end offsets; `fetched`: the sum of every consumer group's committed offsets. */
async function takeSnapshot(admin) {
  const ends = await endOffsets(admin);
  let produced = 0;
  for (const end of ends.values()) produced += end;
  let fetched = 0;
  for (const groupId of await consumerGroups(admin)) {
    for (const committed of (await committedOffsets(admin, groupId)).values()) fetched += committed;
  }
  return { produced, fetched };
}

/** Messages the active consumer groups have not committed yet: 0 once the platform has drained. */
async function activeGroupsLag(admin) {
  const ends = await endOffsets(admin);
  const groups = await consumerGroups(admin);
  if (groups.length === 0) return 0;
  const { groups: described } = await admin.describeGroups(groups);
  let lag = 0;
  for (const group of described.filter((entry) => entry.state === 'Stable')) {
    // Only the topics the group reads now: a group keeps offsets of a topic it no longer reads (fraud, routing and the gateway read the full log before they had stage topics).
    const subscribed = new Set(group.members.flatMap((member) => AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.topics ?? []));
    for (const [partition, committed] of await committedOffsets(admin, group.groupId)) {
      if (subscribed.has(partition.slice(0, partition.lastIndexOf('/')))) lag += Math.max(0, (ends.get(partition) ?? committed) - committed);
    }
  }
  return lag;
}

/** `topic/partition` → end offset, for every topic that is neither Kafka's own nor the bench's. */
async function endOffsets(admin) {
  const topics = (await admin.listTopics()).filter((topic) => !topic.startsWith('__') && !topic.startsWith(benchPrefix));
  const ends = new Map();
  for (const topic of topics) {
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}/${partition}`, Number(high));
  }
  return ends;
}

async function consumerGroups(admin) {
  const { groups } = await admin.listGroups();
  return groups.filter((group) => group.protocolType === 'consumer' && !group.groupId.startsWith(benchPrefix)).map((group) => group.groupId);
}

/** `topic/partition` → committed offset, for the partitions the group has committed on. */
async function committedOffsets(admin, groupId) {
  const offsets = new Map();
  for (const { topic, partitions } of await admin.fetchOffsets({ groupId })) {
    if (topic.startsWith('__') || topic.startsWith(benchPrefix)) continue;
    for (const { partition, offset } of partitions) {
      if (Number(offset) >= 0) offsets.set(`${topic}/${partition}`, Number(offset));
    }
  }
  return offsets;
}

export function kafkaBetween(before, after, payments) {
  const produced = after.produced - before.produced;
  const fetched = after.fetched - before.fetched;
  const perPayment = (count) => (payments > 0 ? Math.round((count / payments) * 100) / 100 : null);
  return { produced, fetched, producedPerPayment: perPayment(produced), fetchedPerPayment: perPayment(fetched) };
}
