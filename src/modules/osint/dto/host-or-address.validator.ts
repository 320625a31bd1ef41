import { isIP } from 'node:net';
import { isFQDN, ValidateBy, type ValidationOptions } from 'class-validator';
import { HOSTNAME_RULES } from './dns.dto';

/** A host name (the rules of `POST /osint/dns`), an IPv4 or IPv6 address, or an IPv6 address in brackets. */
export function isHostOrAddress(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (value.startsWith('[') || value.endsWith(']')) return /^\[.*\]$/.test(value) && isIP(value.slice(1, -1)) === 6;
  return isIP(value) !== 0 || isFQDN(value, HOSTNAME_RULES);
}

/** The `host` of the routes that connect to one: refused with 400 before any look-up when malformed. */
export function IsHostOrAddress(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    { name: 'isHostOrAddress', validator: { validate: isHostOrAddress, defaultMessage: () => '$property must be a host name or an IP address' } },
    options,
  );
}
