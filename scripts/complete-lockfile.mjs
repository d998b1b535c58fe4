#!/usr/bin/env node
// Developer tool. The npm registry mirror this project is developed against lacks some
// platform packages of node-llama-cpp's newest release (Windows, macOS, riscv64), so
// `npm install` here leaves them out of package-lock.json and `npm ci` then refuses the lock.
// This adds the missing optional platform entries (with their os/cpu, taken from the newest
// version the mirror has) so the lock is what npm writes against the full registry.
// Run after `npm install` whenever package-lock.json is regenerated.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const packages = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key] || packages[`${path}/${key}`]) continue;
    const view = JSON.parse(
      execFileSync("npm", ["view", name, "os", "cpu", "license", "engines", "--json"], {
        encoding: "utf8",
      }),
    );
    packages[key] = {
      version,
      ...(view.license ? { license: view.license } : {}),
      ...(view.cpu ? { cpu: [].concat(view.cpu) } : {}),
      optional: true,
      ...(view.os ? { os: [].concat(view.os) } : {}),
      ...(view.engines ? { engines: view.engines } : {}),
    };
    added++;
    console.log(`added ${name}@${version}`);
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
);
writeFileSync("package-lock.json", `${JSON.stringify(lock, null, 2)}\n`);
console.log(`${added} entries added`);
