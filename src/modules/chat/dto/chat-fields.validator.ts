import Ajv from 'ajv';
import { ValidationArguments, ValidatorConstraint, ValidatorConstraintInterface } from 'class-validator';
import type { OutputFormat, ThinkSetting } from '../../../core/llm/llm-backend';

/** How many images one `/chat` request may carry. */
export const CHAT_MAX_IMAGES = 4;

export const THINK_LEVELS = ['low', 'medium', 'high', 'max'] as const;

/** Checks the meta-schema only: the schema is Ollama's to apply. */
const schemaChecker = new Ajv({ strict: false, validateSchema: false });

/**
 * Why `images` is invalid, naming the field, or null. Whether each string really is an image
 * (and not too large) is the `ImageResolver`'s call, when the request is prepared.
 */
export function checkChatImages(value: unknown): string | null {
  if (!Array.isArray(value)) return 'images must be an array of images (data URLs or base64 strings)';
  if (value.length > CHAT_MAX_IMAGES) return `images may hold at most ${CHAT_MAX_IMAGES} images; it has ${value.length}`;
  for (const [index, image] of value.entries()) {
    if (typeof image !== 'string' || image.length === 0) return `images.${index} must be a data URL or a base64 string`;
    // Ollama's own API takes base64 only; fetching a URL on a person's behalf is the /v1 route's business.
    if (/^https?:/i.test(image)) return `images.${index} must be a data URL or a base64 string, not a URL`;
  }
  return null;
}

/** Why `format` is invalid, or null: `"json"`, or an object that is a JSON Schema. */
export function checkChatFormat(value: unknown): string | null {
  if (value === 'json') return null;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'format must be "json" or a JSON Schema object';
  try {
    if (schemaChecker.validateSchema(value as object) === false) {
      return `format is not a valid JSON Schema: ${schemaChecker.errorsText(schemaChecker.errors, { dataVar: 'format' })}`;
    }
  } catch {
    // A `$schema` this checker does not know (draft 2020-12): the backend judges it.
  }
  return null;
}

/** Why `think` is invalid, or null: a boolean or an effort level. */
export function checkChatThink(value: unknown): string | null {
  if (typeof value === 'boolean' || (THINK_LEVELS as readonly unknown[]).includes(value)) return null;
  return `think must be true, false, or one of ${THINK_LEVELS.join(', ')}`;
}

/** The request's `format` in the exchange model. */
export function toOutputFormat(value: 'json' | Record<string, unknown> | undefined): OutputFormat | undefined {
  if (value === undefined) return undefined;
  return value === 'json' ? 'json' : { schema: value };
}

/** `think` as a query string carries it (`true`, `false`, `low`…) in the exchange model. */
export function thinkFromQuery(value: string | undefined): ThinkSetting | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  return value as ThinkSetting;
}

function constraint(name: string, check: (value: unknown) => string | null) {
  @ValidatorConstraint({ name })
  class Constraint implements ValidatorConstraintInterface {
    validate(value: unknown): boolean {
      return check(value) === null;
    }

    defaultMessage(args: ValidationArguments): string {
      return check(args.value) ?? `${args.property} is invalid`;
    }
  }
  return Constraint;
}

export const ChatImagesConstraint = constraint('chatImages', checkChatImages);
export const ChatFormatConstraint = constraint('chatFormat', checkChatFormat);
export const ChatThinkConstraint = constraint('chatThink', checkChatThink);
