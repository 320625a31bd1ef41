import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

export const IS_PUBLIC = 'vega:isPublic';
/** OpenAPI extension that marks an operation as needing no key (turned into `security: []`). */
export const PUBLIC_EXTENSION = 'x-vega-public';

/** Opts a route (or a whole controller) out of the API-key guard, in the guard and in the docs. */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension(PUBLIC_EXTENSION, true));
