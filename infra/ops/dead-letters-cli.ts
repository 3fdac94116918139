// `npm run dead-letters -- list|replay --queue <source queue URL> [--max N]`: the dead-letter runbook
// step (docs/infra.md, Dead letters). AWS is reached like everywhere else: `AWS_ENDPOINT_URL` for an
// emulator (source `.local/local-aws.env` for `npm start`'s), the usual credentials for AWS.
import { parseArgs } from 'node:util';
import { createSqsClient } from '#shared/aws/clients.ts';
import { loadAwsConfig } from '#shared/config.ts';
import { listDeadLetters, replayDeadLetters } from './dead-letters.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { queue: { type: 'string' }, max: { type: 'string' } },
});
const [action] = positionals;
const max = values.max === undefined ? undefined : Number(values.max);
if (!values.queue || (action !== 'list' && action !== 'replay') || (max !== undefined && !(max > 0))) {
  console.error('usage: npm run dead-letters -- list|replay --queue <source queue URL> [--max N]');
  process.exit(2);
}
const sqs = createSqsClient(loadAwsConfig(process.env));
if (action === 'list') {
  const { deadLetterQueueUrl, waiting, deadLetters } = await listDeadLetters(sqs, values.queue, max);
  console.log(
    JSON.stringify({ deadLetterQueueUrl, waiting, shown: deadLetters.length, deadLetters }, null, 2),
  );
} else {
  const result = await replayDeadLetters(sqs, values.queue, max);
  console.log(JSON.stringify(result));
  if (result.failed > 0) process.exitCode = 1;
}
