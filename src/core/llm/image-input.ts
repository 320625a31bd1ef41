import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { AppError, InvalidInputError } from '../../common/errors/app-errors';
import { OutboundFetcher } from '../outbound/outbound-fetcher';
import type { ImageInput } from './llm-backend';

export type { ImageInput } from './llm-backend';

/** The image types every vision backend takes, as the bytes say they are. */
export type ImageType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';
const TYPES: readonly ImageType[] = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const ACCEPT = TYPES.join(', ');
const SUPPORTED = 'PNG, JPEG, GIF or WebP';

/** Standard or URL-safe base64, padded or not (line breaks are removed before this test). */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Turns what a client gave as an image — a data URL, bare base64, or an http(s) URL — into an
 * `ImageInput`: the bytes as base64, their sniffed type, size and SHA-256. One resolver for
 * every route, so every dialect refuses the same things with the same words: the message and
 * `param` name the request field (`messages.0.content.1.image_url.url`).
 *
 * A URL is fetched through the outbound fetcher, so the SSRF guard applies (private, loopback
 * and link-local addresses are refused unless FETCH_ALLOW_PRIVATE / FETCH_ALLOW_HOSTS say
 * otherwise), redirects included. A failed fetch is the client's bad input (400), as OpenAI
 * answers it, not a failure of Vega.
 */
@Injectable()
export class ImageResolver {
  private readonly limits: AppConfig['images'];

  constructor(
    config: AppConfig,
    private readonly fetcher: OutboundFetcher,
  ) {
    this.limits = config.images;
  }

  async resolve(source: string, field: string, signal?: AbortSignal): Promise<ImageInput> {
    const text = source.trim();
    if (/^data:/i.test(text)) return this.fromDataUrl(text, field);
    if (/^https?:\/\//i.test(text)) return this.fromUrl(text, field, signal);
    return this.fromBase64(text, field, undefined);
  }

  private fromDataUrl(text: string, field: string): ImageInput {
    const comma = text.indexOf(',');
    const header = comma === -1 ? '' : text.slice(5, comma).toLowerCase();
    const params = header.split(';').map((part) => part.trim());
    if (comma === -1 || !params.includes('base64')) throw invalid(field, 'a data URL must be base64-encoded (data:image/png;base64,…)');
    // `data:;base64,…` names no type: the bytes alone decide.
    const claimed = params[0] ? normalType(params[0]) : undefined;
    if (claimed !== undefined && !isImageType(claimed)) {
      throw invalid(field, `the data URL's type ${params[0]} is not a supported image type (${SUPPORTED})`);
    }
    return this.fromBase64(text.slice(comma + 1), field, claimed);
  }

  private fromBase64(text: string, field: string, claimed: ImageType | undefined): ImageInput {
    const compact = text.replace(/\s+/g, '');
    if (compact === '') throw invalid(field, 'the image is empty');
    if (!BASE64.test(compact)) throw invalid(field, 'not an image: expected a data URL, an http(s) URL or base64 image data');
    // Checked before decoding: a 20 MB image is refused without allocating 20 MB.
    const estimated = Math.floor((compact.length * 3) / 4) - (compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0);
    if (estimated > this.limits.maxBytes) throw this.tooLarge(field, estimated);
    return this.fromBytes(Buffer.from(compact, 'base64'), field, claimed);
  }

  private async fromUrl(url: string, field: string, signal?: AbortSignal): Promise<ImageInput> {
    let result;
    try {
      // One byte over the cap tells "too large" apart without reading the rest of the body.
      result = await this.fetcher.fetch(url, {
        headers: { accept: ACCEPT },
        maxBytes: this.limits.maxBytes + 1,
        truncate: true,
        timeoutMs: this.limits.fetchTimeoutMs,
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof AppError && error.status === 504) {
        throw invalid(field, `${url} was not fetched within ${this.limits.fetchTimeoutMs / 1000} s (IMAGE_FETCH_TIMEOUT_SEC)`, error);
      }
      throw invalid(field, error instanceof Error ? error.message : String(error), error);
    }
    if (result.status < 200 || result.status >= 300) throw invalid(field, `fetching ${url} answered HTTP ${result.status}`);
    if (result.truncated || result.body.length > this.limits.maxBytes) throw this.tooLarge(field);
    // A server's `application/octet-stream` says nothing: only an image type it names is held against the bytes.
    const named = normalType(result.mediaType);
    return this.fromBytes(result.body, field, isImageType(named) ? named : undefined, result.mediaType);
  }

  private fromBytes(bytes: Buffer, field: string, claimed: ImageType | undefined, served?: string): ImageInput {
    if (bytes.length === 0) throw invalid(field, 'the image is empty');
    if (bytes.length > this.limits.maxBytes) throw this.tooLarge(field, bytes.length);
    const mime = sniffImageType(bytes);
    if (!mime) {
      const what = served !== undefined ? ` (served as ${served || 'no content type'})` : '';
      throw invalid(field, `not a ${SUPPORTED} image${what}`);
    }
    if (claimed && claimed !== mime) throw invalid(field, `the image is said to be ${claimed} but its bytes are ${mime}`);
    return { mime, data: bytes.toString('base64'), bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  /** `size` is unknown for a fetched image: its download stopped one byte past the limit. */
  private tooLarge(field: string, size?: number): InvalidInputError {
    const what = size === undefined ? 'larger than' : `${size} bytes, more than`;
    return invalid(field, `the image is ${what} the ${this.limits.maxBytes} bytes allowed (IMAGE_MAX_BYTES)`, undefined, 'image_too_large');
  }
}

/** The type the first bytes prove (magic numbers), or undefined for anything else. */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  const starts = (signature: number[], at = 0) => signature.every((byte, index) => bytes[at + index] === byte);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61) return 'image/gif';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  return undefined;
}

function normalType(type: string): string {
  const lower = type.trim().toLowerCase();
  return lower === 'image/jpg' ? 'image/jpeg' : lower;
}

function isImageType(type: string): type is ImageType {
  return (TYPES as readonly string[]).includes(type);
}

/**
 * A 400 naming the field. An image over IMAGE_MAX_BYTES is a 400 as well (OpenAI's answer to an
 * oversized image), not a 413: the request body itself was within the server's limit.
 */
function invalid(field: string, reason: string, cause?: unknown, code?: string): InvalidInputError {
  return new InvalidInputError(`${field}: ${reason}`, { param: field, cause, code });
}
