#!/usr/bin/env node
// Builds the native scorer (native/scorer.cc → native/build/qbench-scorer.node) at npm install.
// It never fails the install and never uses the network: without a C++ compiler, Node's headers,
// node-llama-cpp's prebuilt CPU library or the node-llama-cpp version the committed llama.cpp
// headers are for, it prints one line and qbench scores through node-llama-cpp's JS path.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The node-llama-cpp version whose addon layout and llama.cpp headers (native/include) match. */
const SUPPORTED = "3.22.1";
const LIBRARY = "libllama.v0.5.0.so";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(root, "native", "build", "qbench-scorer.node");

function skip(reason) {
  process.stdout.write(
    `qbench: native scorer not built (${reason}); qbench ppl scores through node-llama-cpp's JS path\n`,
  );
  process.exit(0);
}

function nodeHeaders() {
  const candidates = [
    join(dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
  ];
  return candidates.find((dir) => existsSync(join(dir, "node_api.h")));
}

function build() {
  if (process.env.QBENCH_NATIVE_SCORER === "0") skip("QBENCH_NATIVE_SCORER=0");
  if (process.platform !== "linux" || process.arch !== "x64") {
    skip(`no prebuilt library to link on ${process.platform}-${process.arch}`);
  }
  const modules = join(root, "node_modules");
  let version;
  try {
    version = JSON.parse(
      readFileSync(join(modules, "node-llama-cpp", "package.json"), "utf8"),
    ).version;
  } catch {
    skip("node-llama-cpp is not installed");
  }
  if (version !== SUPPORTED) skip(`node-llama-cpp ${version}, the headers are for ${SUPPORTED}`);
  const libraryDir = join(modules, "@node-llama-cpp", "linux-x64", "bins", "linux-x64");
  if (!existsSync(join(libraryDir, LIBRARY)))
    skip(`${LIBRARY} of @node-llama-cpp/linux-x64 is missing`);
  // node-addon-api as node-llama-cpp resolves it (its dependency: hoisted or nested).
  let addonApi;
  try {
    const fromPackage = createRequire(join(modules, "node-llama-cpp", "package.json"));
    addonApi = dirname(fromPackage.resolve("node-addon-api/package.json"));
  } catch {
    skip("node-addon-api is not installed");
  }
  if (!existsSync(join(addonApi, "napi.h"))) skip("node-addon-api's headers are missing");
  const headers = nodeHeaders();
  if (!headers) skip("no Node headers (node_api.h) next to this node or in /usr/include/node");
  const compiler = process.env.CXX || "c++";
  const probe = spawnSync(compiler, ["--version"], { stdio: "ignore" });
  if (probe.error || probe.status !== 0) skip(`no C++ compiler (${compiler})`);

  mkdirSync(dirname(output), { recursive: true });
  const partial = `${output}.partial`;
  const args = [
    "-O2",
    "-std=c++17",
    "-shared",
    "-fPIC",
    // node-llama-cpp's own build settings, so its classes have the same layout here.
    "-DNAPI_VERSION=7",
    "-DNAPI_DISABLE_CPP_EXCEPTIONS",
    `-DQBENCH_NODE_LLAMA_CPP_VERSION="${version}"`,
    "-I",
    join(root, "native", "include"),
    "-I",
    addonApi,
    "-I",
    headers,
    "-I",
    join(modules, "node-llama-cpp", "llama", "addon"),
    join(root, "native", "scorer.cc"),
    "-o",
    partial,
    // No rpath: loaded after node-llama-cpp's addon, it binds to the library already loaded.
    "-L",
    libraryDir,
    `-l:${LIBRARY}`,
    "-pthread",
  ];
  const result = spawnSync(compiler, args, { encoding: "utf8", timeout: 180_000 });
  if (result.error || result.status !== 0) {
    rmSync(partial, { force: true });
    const first = (result.stderr || String(result.error ?? "")).split("\n").find((l) => l.trim());
    skip(`${compiler} failed: ${first ?? `exit ${result.status}`}`);
  }
  renameSync(partial, output);
  process.stdout.write(`qbench: native scorer built (${output})\n`);
}

try {
  build();
} catch (error) {
  skip(String(error instanceof Error ? error.message : error));
}
