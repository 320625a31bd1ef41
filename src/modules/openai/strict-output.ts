import Ajv, { type ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import { BackendError, InvalidInputError } from '../../common/errors/app-errors';

/**
 * `response_format.json_schema.strict`: Ollama constrains the model's sampling to the schema,
 * but a model can still stop early (num_predict, MAX_RESPONSE_CHARS) or a backend can ignore
 * `format`. With strict, the finished answer is checked against the schema, and an answer that
 * does not conform is reported as the backend's failure (502 `invalid_model_output`) instead of
 * being handed on as if it were valid.
 *
 * `format` keywords are not checked (ajv-formats is not a dependency; Ollama ignores them too).
 */

/** Where the schema sits in a chat completion request; the Responses API has it at `text.format`. */
const CHAT_SCHEMA_FIELD = 'response_format.json_schema';
/** Compiled validators by schema text: a client sends the same schema with every request. */
const compiled = new Map<string, ValidateFunction>();
const MAX_COMPILED = 100;

const options = { strict: false, validateFormats: false, allErrors: false, logger: false } as const;
const engines = { draft7: new Ajv(options), draft2019: new Ajv2019(options), draft2020: new Ajv2020(options) };

/** The schema's dialect by its `$schema`; draft-07 when it names none (what OpenAI's helpers emit). */
function engineFor(schema: Record<string, unknown>): Ajv {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (dialect.includes('2020-12')) return engines.draft2020;
  if (dialect.includes('2019-09')) return engines.draft2019;
  return engines.draft7;
}

/** A validator for `schema`; a schema ajv cannot compile is the client's error, naming the field (`<field>.schema`). */
export function strictValidator(schema: Record<string, unknown>, field = CHAT_SCHEMA_FIELD): ValidateFunction {
  const key = JSON.stringify(schema);
  const known = compiled.get(key);
  if (known) return known;
  let validate: ValidateFunction;
  try {
    validate = engineFor(schema).compile(schema);
  } catch (error) {
    throw new InvalidInputError(`${field}.schema is not a valid JSON Schema: ${(error as Error).message}`, { param: `${field}.schema` });
  }
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, validate);
  return validate;
}

/** Throws when `text` is not JSON that `validate` accepts; `field` is where the request holds the schema. */
export function checkStrictOutput(validate: ValidateFunction, text: string, field = CHAT_SCHEMA_FIELD): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(`the model's answer is not JSON${text.length === 0 ? ' (it is empty)' : ''}`, field);
  }
  if (validate(value)) return;
  const first = validate.errors?.[0];
  const where = first?.instancePath ? ` at ${first.instancePath}` : '';
  throw invalid(`the model's answer does not follow the schema${where}: ${first?.message ?? 'invalid'}`, field);
}

function invalid(reason: string, field: string): BackendError {
  return new BackendError(`${reason} (${field}.strict is true)`, { param: field.split('.')[0], code: 'invalid_model_output' });
}
