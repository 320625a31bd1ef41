#!/usr/bin/env node
// The installed `vega` command: runs the built CLI (npm run build first).
require('../dist/src/cli.js');
