/**
 * Which runner should own which shard, given the live runners: shards dealt round-robin over the
 * runners in id order, so every runner computes the same answer and each gets its fair share (the
 * counts differ by at most one).
 */
export function assignShards(shardCount: number, runnerIds: readonly string[]): Map<string, number[]> {
  const runners = [...new Set(runnerIds)].sort();
  const assignment = new Map<string, number[]>(runners.map((runner) => [runner, []]));
  if (runners.length === 0) return assignment;
  for (let shard = 0; shard < shardCount; shard++) {
    assignment.get(runners[shard % runners.length] as string)?.push(shard);
  }
  return assignment;
}
