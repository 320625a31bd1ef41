#!/usr/bin/env node
// The installed `vega` command: runs the built CLI (npm run build first).
// Node's compile cache keeps the compiled code of Nest, TypeORM and the CLI between runs
// (in the OS temp dir, or NODE_COMPILE_CACHE), which shortens every start after the first.
require('node:module').enableCompileCache?.();
require('../dist/src/cli.js');
