// What the API benchmark's clinic (and its operator) say to the API: plain HTTP to the local front,
// JSON in and out, a bearer key. Answers other than the expected status are errors with their body.
export interface ApiAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly key: string,
  ) {}

  async request(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** The answer's body when its status is `status`; anything else fails with what the API said. */
  async expect(
    status: number,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Record<string, unknown>> {
    const answer = await this.request(method, path, body, headers);
    if (answer.status !== status) {
      throw new Error(
        `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)} (expected ${status})`,
      );
    }
    return answer.body;
  }
}
