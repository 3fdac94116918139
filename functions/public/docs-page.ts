// `GET /docs`: the OpenAPI document as one HTML page, rendered here with no script: it works
// offline and behind strict content security policies, where Swagger UI or Redoc would fetch a
// megabyte of JavaScript from a CDN (or make every cold start carry it).

interface Operation {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown; description?: string }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  security?: unknown[];
}

interface Document {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const code = (value: unknown) => `<pre><code>${escapeHtml(JSON.stringify(value, null, 2))}</code></pre>`;

export function docsPage(document: object, openApiUrl: string): string {
  const doc = document as Document;
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
  const sections = operations.map(({ path, method, operation }) => {
    const parameters = (operation.parameters ?? [])
      .map(
        (parameter) =>
          `<li><code>${escapeHtml(parameter.name)}</code> (${escapeHtml(parameter.in)}${parameter.required ? ', required' : ''})${
            parameter.description ? ` — ${escapeHtml(parameter.description)}` : ''
          }</li>`,
      )
      .join('');
    const body = operation.requestBody?.content['application/json']?.schema;
    const responses = Object.entries(operation.responses)
      .map(
        ([status, response]) =>
          `<li><strong>${escapeHtml(status)}</strong> ${escapeHtml(response.description)}${
            response.content?.['application/json'] && Number(status) < 400
              ? code(response.content['application/json'].schema)
              : ''
          }</li>`,
      )
      .join('');
    return `<section id="${escapeHtml(operation.operationId)}">
<h3><span class="method">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(operation.description ?? operation.summary ?? '')}</p>
${parameters ? `<h4>Parameters</h4><ul>${parameters}</ul>` : ''}
${body ? `<h4>Body</h4>${code(body)}` : ''}
<h4>Responses</h4><ul>${responses}</ul>
</section>`;
  });
  const schemas = Object.entries(doc.components?.schemas ?? {})
    .map(
      ([name, schema]) =>
        `<section id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3>${code(schema)}</section>`,
    )
    .join('\n');
  const index = operations
    .map(
      ({ path, method, operation }) =>
        `<li><a href="#${escapeHtml(operation.operationId)}"><span class="method">${escapeHtml(method.toUpperCase())}</span> ${escapeHtml(path)}</a></li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.info.title)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1f2328}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;border-radius:6px}
.method{display:inline-block;min-width:4.5em;font-weight:600;color:#0969da}
section{border-top:1px solid #d0d7de;padding-top:.5rem}
</style></head><body>
<h1>${escapeHtml(doc.info.title)} <small>v${escapeHtml(doc.info.version)}</small></h1>
<p>${escapeHtml(doc.info.description ?? '')}</p>
<p>Machine-readable: <a href="${escapeHtml(openApiUrl)}">${escapeHtml(openApiUrl)}</a> (OpenAPI 3.1).</p>
<h2>Operations</h2><ul>${index}</ul>
${sections.join('\n')}
<h2>Schemas</h2>
${schemas}
</body></html>`;
}
