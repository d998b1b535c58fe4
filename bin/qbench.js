#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm ci` / `npm install` through `prepare`).
import { existsSync } from "node:fs";

const main = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    "qbench: not built yet — run `npm install` (or `npm run build`) in the qbench folder\n",
  );
  process.exit(3);
}
await import(main.href);
