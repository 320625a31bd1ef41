/** What the audit log reads from a model-management body: the models it names. */
type Json = Record<string, unknown>;

/** A model name as the audit log keeps it: a string field, cut to a sane length. */
function name(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, 200) : undefined;
}

function fields(body: unknown): Json {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Json) : {};
}

/** `model`, or `name` as older clients (and ollama-js for pull, push and delete) send it. */
export function modelOf(body: unknown): string[] {
  const { model, name: legacy } = fields(body);
  const found = name(model) ?? name(legacy);
  return found === undefined ? [] : [found];
}

/** The models a model-management call names, by its route pattern (`/api/copy`: source and destination). */
export function modelsNamed(route: string, body: unknown): string[] {
  if (route === '/api/copy') {
    const { source, destination } = fields(body);
    return [name(source), name(destination)].filter((model): model is string => model !== undefined);
  }
  return route.startsWith('/api/blobs/') ? [] : modelOf(body);
}

/** A string field of a JSON body (cut as a model name), if it has one. */
export function stringField(body: unknown, field: string): string | undefined {
  return name(fields(body)[field]);
}
