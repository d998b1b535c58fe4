import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  readThreadsCache,
  sizeClass,
  threadsCachePath,
  writeThreadsCache,
} from "../../src/orchestrator/threads-cache.js";
import { tempDir } from "../support/cli.js";

const key = {
  cpu: "Test CPU × 2",
  engine: "node-llama-cpp 3.0.0 (llama.cpp b1), prebuilt binary",
  sizeClass: "1 MiB–2 MiB",
};
const entry = {
  threads: 1,
  figures: [
    { threads: 1, tokensPerSecond: 178 },
    { threads: 2, tokensPerSecond: 61 },
  ],
  at: "2026-12-02T06:10:00.000Z",
};

describe("the threads cache", () => {
  it("lives where QBENCH_THREADS_CACHE says, else under XDG_CACHE_HOME, else ~/.cache", () => {
    assert.equal(
      threadsCachePath({ QBENCH_THREADS_CACHE: "/t/threads.json" }, "/h"),
      "/t/threads.json",
    );
    assert.equal(threadsCachePath({ QBENCH_THREADS_CACHE: "off" }, "/h"), undefined);
    assert.equal(threadsCachePath({ XDG_CACHE_HOME: "/x" }, "/h"), "/x/qbench/threads.json");
    assert.equal(threadsCachePath({}, "/h"), "/h/.cache/qbench/threads.json");
  });

  it("puts models in power-of-two size classes", () => {
    assert.equal(sizeClass(1_185_376), "1 MiB–2 MiB");
    assert.equal(sizeClass(2 ** 20), "1 MiB–2 MiB");
    assert.equal(sizeClass(2 ** 20 - 1), "512 KiB–1 MiB");
    assert.equal(sizeClass(70 * 2 ** 20), "64 MiB–128 MiB");
    assert.throws(() => sizeClass(-1), /model bytes must be a number ≥ 0, got -1/);
  });

  it("reads back what it wrote, in a folder it makes, beside other keys", () => {
    const file = join(tempDir(), "new", "qbench", "threads.json");
    assert.equal(readThreadsCache(file, key), undefined);
    writeThreadsCache(file, key, entry);
    const other = { ...key, sizeClass: "4 GiB–8 GiB" };
    writeThreadsCache(file, other, { ...entry, threads: 2 });
    assert.deepEqual(readThreadsCache(file, key), entry);
    assert.equal(readThreadsCache(file, other)?.threads, 2);
    assert.equal(Object.keys(JSON.parse(readFileSync(file, "utf8")).entries).length, 2);
  });

  it("misses on another CPU, engine build or size class", () => {
    const file = join(tempDir(), "threads.json");
    writeThreadsCache(file, key, entry);
    assert.equal(readThreadsCache(file, { ...key, cpu: "Test CPU × 4" }), undefined);
    assert.equal(
      readThreadsCache(file, {
        ...key,
        engine: key.engine.replace("prebuilt binary", "local build"),
      }),
      undefined,
    );
    assert.equal(readThreadsCache(file, { ...key, sizeClass: "2 MiB–4 MiB" }), undefined);
  });

  it("treats an unreadable file as empty and rewrites it", () => {
    const file = join(tempDir(), "threads.json");
    writeFileSync(file, "{ not json");
    assert.equal(readThreadsCache(file, key), undefined);
    writeThreadsCache(file, key, entry);
    assert.deepEqual(readThreadsCache(file, key), entry);
  });
});
