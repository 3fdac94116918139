import type { Environment } from '#shared/config.ts';

/** How long the authorizer keeps the admin key it read from Secrets Manager (a rotation's delay). */
const ADMIN_KEY_CACHE_SECONDS = 300;

type SecretReader = (name: string, options: { maxAge: number }) => Promise<unknown>;

/**
 * The operator's key: from Secrets Manager (`ADMIN_KEY_SECRET_ARN`, cached by Powertools Parameters)
 * in AWS, from `ADMIN_API_KEY` locally. A key shorter than 32 characters is refused at start-up.
 */
export function adminKeySource(env: Environment, getSecret: SecretReader): () => Promise<string> {
  const secretArn = env.ADMIN_KEY_SECRET_ARN;
  if (secretArn) {
    return async () => {
      const value = await getSecret(secretArn, { maxAge: ADMIN_KEY_CACHE_SECONDS });
      if (typeof value !== 'string' || value.length < 32)
        throw new Error('The admin key secret is not a key');
      return value;
    };
  }
  const key = env.ADMIN_API_KEY;
  if (!key || key.length < 32) {
    throw new Error('ADMIN_API_KEY (32+ characters) or ADMIN_KEY_SECRET_ARN is required');
  }
  return async () => key;
}
