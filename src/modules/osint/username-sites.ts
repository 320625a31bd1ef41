import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../config/app-config';
import bundled from './data/username-sites.json';

/**
 * One site of the username probe, with an explicit rule for what proves a profile exists:
 * - `status`: 2xx means it exists;
 * - `text_present`: a 2xx page that contains `text`;
 * - `text_absent`: a 2xx page that does not contain `text` (sites that answer 200 "not found").
 * With every rule a 404/410 means it does not exist. A redirect proves nothing either way.
 */
const siteSchema = z
  .object({
    name: z.string().min(1),
    url: z
      .string()
      .refine((url) => url.includes('{}') && /^https?:\/\//.test(url), { error: 'must be an http(s) URL with {} for the username' }),
    detect: z.enum(['status', 'text_present', 'text_absent']),
    text: z.string().min(1).optional(),
    nsfw: z.boolean().default(false),
    /** The usernames the site allows; others are reported as not existing without a request. */
    pattern: z.string().optional(),
  })
  .refine((site) => site.detect === 'status' || site.text, { error: 'text_present and text_absent rules need "text"' });

export type UsernameSite = z.output<typeof siteSchema>;

/** The bundled list, or USERNAME_SITES_FILE; read once at start, a bad file stops the start with the reason. */
export function loadUsernameSites(file?: string): UsernameSite[] {
  let raw: unknown = bundled;
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`USERNAME_SITES_FILE ${file} cannot be read: ${(error as Error).message}`);
    }
  }
  const parsed = z.array(siteSchema).min(1).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Username site list ${file ?? '(bundled)'}: entry ${issue.path.join('.')} ${issue.message}`);
  }
  const names = new Set<string>();
  for (const site of parsed.data) {
    if (names.has(site.name.toLowerCase())) throw new ConfigError(`Username site list ${file ?? '(bundled)'}: "${site.name}" appears twice`);
    names.add(site.name.toLowerCase());
  }
  return parsed.data;
}
