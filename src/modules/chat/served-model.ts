/** What a prepared chat or completion tells of the model and target that serve it (`PreparedChat.onServed`). */
export interface ServedHook {
  onServed?: (model: string, target?: string) => void;
}

/**
 * `run`, with the model that serves it (the one asked for, or a fallback) written to
 * `into.model` before its first piece is yielded: for the dialects that name the model in every
 * streamed frame (OpenAI's chunks, Anthropic's `message_start`, Ollama's lines).
 */
export function namingServedModel<T extends ServedHook>(run: T, into: { model: string }): T {
  return {
    ...run,
    onServed: (model: string, target?: string) => {
      into.model = model;
      run.onServed?.(model, target);
    },
  };
}
