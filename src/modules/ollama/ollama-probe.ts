/**
 * What Ollama answers at `/` (`GET` and `HEAD`): clients and scripts probe it to tell that an
 * Ollama server is up (`curl localhost:11434` → `Ollama is running`).
 */
export const OLLAMA_PROBE_ANSWER = 'Ollama is running';

/**
 * Whether a request to `/` comes from a browser, which gets the web UI: it asks for HTML in its
 * `Accept` header (`text/html` or `application/xhtml+xml`, as every browser does for a page).
 * Anything else — no `Accept`, `*\/*` (curl, Python, Go), `application/json` (ollama-js) — is an
 * Ollama client probing, and gets Ollama's text.
 */
export function wantsHtml(accept: string | string[] | undefined): boolean {
  const value = Array.isArray(accept) ? accept.join(',') : (accept ?? '');
  return value
    .split(',')
    .map((part) => part.split(';'))
    .some(([type, ...params]) => {
      const name = type!.trim().toLowerCase();
      // `text/html;q=0` says "not HTML".
      const refused = params.some((param) => /^\s*q\s*=\s*0(?:\.0*)?\s*$/i.test(param));
      return !refused && (name === 'text/html' || name === 'application/xhtml+xml');
    });
}
