import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flatten } from '../../app/validation.pipe';
import { InterruptedError, UsageError } from '../cli-errors';

/**
 * The command line's values as the HTTP request DTO, checked by the same class-validator
 * rules as the API's validation pipe, so `vega` and the API accept exactly the same input.
 * `names` maps the DTO's fields to what the person typed (`max_results` → `--max`), for the
 * messages. Undefined values are left out, so the DTO's defaults apply.
 */
export function requestInput<T extends object>(dto: new () => T, values: Record<string, unknown>, names: Record<string, string> = {}): T {
  const given = Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
  const input = plainToInstance(dto, given);
  const errors = validateSync(input, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length > 0) {
    const messages = flatten(errors).map((message) =>
      Object.entries(names).reduce((text, [field, name]) => text.replace(new RegExp(`\\b${field}\\b`), name), message),
    );
    throw new UsageError(messages.join('; '));
  }
  return input;
}

/** An option's number as typed (a plain decimal); its range is left to the DTO, as for the API. */
export function numberOption(value: string, flag: string): number {
  if (!/^\s*-?\d+(\.\d+)?\s*$/.test(value)) throw new UsageError(`${flag} must be a number (got "${value}")`);
  return Number(value);
}

/**
 * Runs `work` with a signal that Ctrl-C aborts: the fetches and probes in flight stop, and the
 * command ends with exit 130.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  try {
    return await work(controller.signal);
  } catch (error) {
    if (controller.signal.aborted) throw new InterruptedError();
    throw error;
  } finally {
    process.off('SIGINT', interrupt);
  }
}
