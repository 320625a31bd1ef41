/**
 * Whether the backend's model list holds `model`, resolved as Ollama resolves a name: a name
 * without a tag is `<name>:latest` (so `mistral` matches `mistral:latest`, and `mistral:latest`
 * matches a listed `mistral`, as an OpenAI-compatible server lists ids without tags).
 */
export function listsModel(listed: readonly string[], model: string): boolean {
  const wanted = withTag(model);
  return listed.some((name) => name === model || withTag(name) === wanted);
}

function withTag(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}

/**
 * What to do when the configured model (`MODEL_NAME`) is not on the backend: the one wording of
 * the start-up log, the readiness check and the 404 of a chat that names no model.
 */
export function missingModelMessage(model: string, backendKind: string, listed: readonly string[] | null): string {
  const fix = backendKind === 'ollama' ? `pull it (ollama pull ${model})` : 'load it on the server';
  const choices =
    listed === null ? 'set MODEL_NAME to a model it has' : listed.length === 0 ? 'set MODEL_NAME once it has one (it lists no model)' : `set MODEL_NAME to one of: ${listed.join(', ')}`;
  return `model "${model}" is not on the backend; ${fix} or ${choices}`;
}

/** The most model names a "not found" message lists. */
const NAMED_AT_MOST = 20;

/**
 * A model that no model server has (every server's list known): the 404 of any lane, naming
 * what the catalogue offers instead (aliases included).
 */
export function unservedModelMessage(model: string, offered: readonly string[]): string {
  if (offered.length === 0) return `model "${model}" not found: the model servers list no model`;
  const named = offered.slice(0, NAMED_AT_MOST).join(', ');
  const more = offered.length > NAMED_AT_MOST ? ` and ${offered.length - NAMED_AT_MOST} more` : '';
  return `model "${model}" not found on any model server; available: ${named}${more}`;
}
