// The headers every dashboard answer carries, wherever it is served: the local server
// (infra/local/dashboard-server.ts) and CloudFront's response headers policy in AWS take them from
// here, so the two cannot drift. The app is same-origin with the API (`/v1/*` is proxied), loads
// nothing from elsewhere and has no inline script or style, hence `'self'` throughout. The one other
// origin is where media download URLs point (S3's presigned URLs): images, audio and video load
// from it.

export interface SecurityHeaderOptions {
  /** Origins of the API's media download URLs (`https://<bucket>.s3.<region>.amazonaws.com`). */
  readonly mediaOrigins?: readonly string[];
  /** Served over https: only then is Strict-Transport-Security sent (over http it means nothing). */
  readonly https: boolean;
}

export function contentSecurityPolicy(mediaOrigins: readonly string[] = []): string {
  const media = ["'self'", 'blob:', ...mediaOrigins].join(' ');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${media}`,
    `media-src ${media}`,
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function securityHeaders(options: SecurityHeaderOptions): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(options.mediaOrigins),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Presigned media URLs and ids must not leak to other sites through Referer.
    'referrer-policy': 'no-referrer',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
    'cross-origin-opener-policy': 'same-origin',
    ...(options.https ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
  };
}
