import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { execa } from "execa";
import { tempDir as makeTempDir, qbench } from "../support/cli.js";
import { MODELS, model, ROOT } from "../support/paths.js";

const noModels = existsSync(MODELS) ? false : `no test models at ${MODELS}`;
const dirs: string[] = [];
function tempDir(): string {
  const dir = makeTempDir("qbench-quantize-cli-");
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The files in `dir` apart from `keep`: a failed quantize must leave none (no partial output, no temporary). */
function leftovers(dir: string, keep: string[]): string[] {
  return readdirSync(dir).filter((f) => !keep.includes(f));
}

describe("qbench quantize (the CLI, as scripts call it)", { skip: noModels }, () => {
  test("writes a file byte-identical to the shared llama-quantize output (2 worker threads) and says what it did", async () => {
    const dir = tempDir();
    const out = join(dir, "q4.gguf");
    const r = await qbench([
      "quantize",
      model("stories260K-f32.gguf"),
      "--type",
      "q4_0",
      "--pure",
      "--out",
      out,
      "--threads",
      "2",
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(
      r.stdout,
      /wrote .*q4\.gguf \(q4_0\): 48 tensors, 32 → Q4_0, 5 → F16 \(5 fell back to F16: .*\), 11 copied/,
    );
    // stories260K-q4_0.gguf in ../shared/models was made by llama-quantize --pure … Q4_0.
    assert.ok(readFileSync(out).equals(readFileSync(model("stories260K-q4_0.gguf"))));
    assert.deepEqual(leftovers(dir, ["q4.gguf"]), []);
  });

  test("default output name beside the input; --type is case-insensitive; --json", async () => {
    const dir = tempDir();
    copyFileSync(model("stories260K-f16.gguf"), join(dir, "m.gguf"));
    const r = await qbench(["quantize", join(dir, "m.gguf"), "--type", "Q8_0", "--json"]);
    assert.equal(r.exitCode, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim());
    assert.equal(result.output, join(dir, "m-q8_0.gguf"));
    assert.equal(result.tensorCount, 48);
    assert.deepEqual(result.converted, { Q8_0: 32 });
    assert.deepEqual(result.fallbacks.length, 5);
    // llama-quantize --pure's output for this input, from test/fixtures/quantize/reference.json.
    const reference = JSON.parse(
      readFileSync(join(ROOT, "test/fixtures/quantize/reference.json"), "utf8"),
    ) as { runs: { input: string; type: string; output: { fileSha256: string } }[] };
    const run = reference.runs.find((x) => x.input === "stories260K-f16.gguf" && x.type === "Q8_0");
    assert.equal(
      createHash("sha256").update(readFileSync(result.output)).digest("hex"),
      run?.output.fileSha256,
    );
  });

  test("--allow-requantize dequantizes and quantizes again", async () => {
    const dir = tempDir();
    const out = join(dir, "rq.gguf");
    const refused = await qbench([
      "quantize",
      model("stories260K-q8_0.gguf"),
      "--type",
      "q4_0",
      "--pure",
      "--out",
      out,
    ]);
    assert.equal(refused.exitCode, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /stories260K-q8_0\.gguf: tensor output\.weight is already Q8_0; .*--allow-requantize/,
    );
    assert.deepEqual(leftovers(dir, []), []);
    const r = await qbench([
      "quantize",
      model("stories260K-q8_0.gguf"),
      "--type",
      "q4_0",
      "--pure",
      "--out",
      out,
      "--allow-requantize",
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(existsSync(out));
  });

  test("bad usage exits 2: unsupported type, missing --type, missing input", async () => {
    // Was q4_k until qbench made the k-quants; iq2_xxs is still a type it does not write.
    const unsupported = await qbench([
      "quantize",
      model("stories260K-f32.gguf"),
      "--type",
      "iq2_xxs",
    ]);
    assert.equal(unsupported.exitCode, 2, unsupported.stderr);
    assert.match(
      unsupported.stderr,
      /unsupported quantization type "iq2_xxs"; qbench quantize writes q8_0, q4_0/,
    );
    const badThreads = await qbench([
      "quantize",
      model("stories260K-f32.gguf"),
      "--type",
      "q8_0",
      "--threads",
      "0",
    ]);
    assert.equal(badThreads.exitCode, 2, badThreads.stderr);
    assert.match(badThreads.stderr, /--threads must be auto or a whole number/);
    const noType = await qbench(["quantize", model("stories260K-f32.gguf")]);
    assert.equal(noType.exitCode, 2, noType.stderr);
    assert.match(noType.stderr, /Missing required argument: type/);
    const dir = tempDir();
    const missing = await qbench(["quantize", join(dir, "nope.gguf"), "--type", "q8_0"]);
    assert.equal(missing.exitCode, 2, missing.stderr);
    assert.match(missing.stderr, /nope\.gguf: cannot open model file/);
  });

  test("a file that is not GGUF exits 2 naming it, nothing written", async () => {
    const dir = tempDir();
    const fake = join(dir, "fake.gguf");
    writeFileSync(fake, "PK\u0003\u0004 not a model");
    const r = await qbench(["quantize", fake, "--type", "q8_0"]);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /fake\.gguf: not a GGUF file/);
    assert.deepEqual(leftovers(dir, ["fake.gguf"]), []);
  });

  test("a read-only destination exits 2 naming the output; nothing written", async () => {
    // As root every directory is writable, so use sysfs, which refuses new files to everyone.
    const rootUser = process.getuid?.() === 0;
    const dir = tempDir();
    let out = join(dir, "ro", "out.gguf");
    if (rootUser) out = "/sys/qbench-quantize-test.gguf";
    else {
      mkdirSync(join(dir, "ro"));
      chmodSync(join(dir, "ro"), 0o555);
    }
    const r = await qbench([
      "quantize",
      model("stories260K-f32.gguf"),
      "--type",
      "q8_0",
      "--out",
      out,
    ]);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /cannot write the output file: E(ACCES|PERM|ROFS)/);
    assert.equal(existsSync(out), false);
  });

  test("a full destination (file size limit hit mid-write) exits 2 and leaves no partial file", async () => {
    const dir = tempDir();
    const out = join(dir, "full.gguf");
    // ulimit -f makes write() fail with EFBIG once the file passes ~100 KiB; SIGXFSZ ignored so the write returns the error.
    const r = await execa(
      "bash",
      [
        "-c",
        'trap "" XFSZ; ulimit -f 100; exec "$0" "$@"',
        process.execPath,
        join(ROOT, "bin/qbench.js"),
        "quantize",
        model("stories260K-f32.gguf"),
        "--type",
        "q8_0",
        "--out",
        out,
      ],
      { reject: false },
    );
    assert.equal(r.exitCode, 2, String(r.stderr));
    assert.match(String(r.stderr), /full\.gguf: cannot write the output file: EFBIG/);
    assert.deepEqual(leftovers(dir, []), []);
  });

  test("k-quant mixes as llama-quantize makes them by default; --tensor-type; --imatrix", async () => {
    const reference = JSON.parse(
      readFileSync(join(ROOT, "test/fixtures/quantize/kquant-reference.json"), "utf8"),
    ) as {
      runs: {
        input: string;
        type: string;
        pure: boolean;
        imatrix: string | null;
        tensorType: string | null;
        options: string[] | null;
        output: { fileSha256: string; tensors: Record<string, { sha256: string }> };
      }[];
    };
    const find = (type: string, imatrix: string | null, tensorType: string | null) => {
      const run = reference.runs.find(
        (x) =>
          x.input === "stories260K-f32.gguf" &&
          x.type === type &&
          !x.pure &&
          x.imatrix === imatrix &&
          x.tensorType === tensorType &&
          x.options === null,
      );
      assert.ok(run, `no reference for ${type}`);
      return run;
    };
    const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
    const dir = tempDir();
    const input = model("stories260K-f32.gguf");
    const mix = join(dir, "mix.gguf");
    const r = await qbench(["quantize", input, "--type", "Q4_K_M", "--out", mix]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /\(q4_k_m\): 48 tensors, .*fell back to Q5_0/);
    assert.equal(sha(mix), find("Q4_K_M", null, null).output.fileSha256, "the Q4_K_M file differs");
    const override = join(dir, "override.gguf");
    const o = await qbench([
      "quantize",
      input,
      "--type",
      "q4_k_m",
      "--tensor-type",
      "ATTN_V=Q8_0",
      "--out",
      override,
    ]);
    assert.equal(o.exitCode, 0, o.stderr);
    assert.equal(sha(override), find("Q4_K_M", null, "attn_v=q8_0").output.fileSha256);
    const weighted = join(dir, "imatrix.gguf");
    const im = "stories260K.imatrix.gguf";
    const w = await qbench([
      "quantize",
      input,
      "--type",
      "q5_k_m",
      "--imatrix",
      join(ROOT, "test/fixtures/quantize", im),
      "--out",
      weighted,
      "--json",
    ]);
    assert.equal(w.exitCode, 0, w.stderr);
    assert.deepEqual(JSON.parse(w.stdout).imatrixMissing, []);
    const raw = readFileSync(weighted);
    const { readGguf } = await import("../../lib/gguf/reader.js");
    const file = await readGguf(weighted);
    const want = find("Q5_K_M", im, null).output.tensors;
    for (const t of file.tensors) {
      const start = file.dataOffset + t.offset;
      const got = createHash("sha256")
        .update(raw.subarray(start, start + t.byteSize))
        .digest("hex");
      assert.equal(got, want[t.name]?.sha256, t.name);
    }
  });

  test("--output-tensor-type, --token-embedding-type, --leave-output-tensor: llama-quantize's files; Q2_K_S refused without an imatrix", async () => {
    const reference = JSON.parse(
      readFileSync(join(ROOT, "test/fixtures/quantize/kquant-reference.json"), "utf8"),
    ) as {
      runs: {
        input: string;
        type: string;
        options: string[] | null;
        output: { fileSha256: string };
      }[];
    };
    const fileSha = (type: string, options: readonly string[]) => {
      const run = reference.runs.find(
        (x) =>
          x.input === "stories260K-f32.gguf" &&
          x.type === type &&
          x.options?.join(" ") === options.join(" "),
      );
      assert.ok(run, `no reference for ${type} ${options.join(" ")}`);
      return run.output.fileSha256;
    };
    const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
    const dir = tempDir();
    const input = model("stories260K-f32.gguf");
    const out = join(dir, "out.gguf");
    for (const [type, options] of [
      ["Q4_K_M", ["--output-tensor-type", "q5_1", "--token-embedding-type", "q8_0"]],
      ["Q6_K", ["--pure", "--output-tensor-type", "f16", "--token-embedding-type", "q4_0"]],
      ["Q4_K_M", ["--leave-output-tensor"]],
      ["F16", ["--output-tensor-type", "q8_0"]],
    ] as const) {
      const r = await qbench(["quantize", input, "--type", type, "--out", out, ...options]);
      assert.equal(r.exitCode, 0, r.stderr);
      const refOptions = options.filter((o) => o !== "--pure");
      assert.equal(sha(out), fileSha(type, refOptions), `${type} ${options.join(" ")}`);
    }
    rmSync(out);
    const badType = await qbench([
      "quantize",
      input,
      "--type",
      "q4_k_m",
      "--out",
      out,
      "--output-tensor-type",
      "q9_9",
    ]);
    assert.equal(badType.exitCode, 2, badType.stderr);
    assert.match(badType.stderr, /--output-tensor-type "q9_9": unknown type/);
    // No fall-back for these two options: rows of 64 do not fit Q4_K's 256-value blocks.
    const noFit = await qbench([
      "quantize",
      input,
      "--type",
      "q4_k_m",
      "--out",
      out,
      "--token-embedding-type",
      "q4_k",
    ]);
    assert.equal(noFit.exitCode, 2, noFit.stderr);
    assert.match(
      noFit.stderr,
      /tensor token_embd\.weight has rows of 64 values, not a multiple of Q4_K's blocks of 256/,
    );
    // Rows of 256 (the probe model): Q2_K_S's Q2_K tensors need importance weights.
    const { writeKquantModel } = await import("../fixtures/quantize/kquant-model.js");
    const probe = join(dir, "probe.gguf");
    await writeKquantModel(probe);
    const q2ks = await qbench(["quantize", probe, "--type", "q2_k_s", "--out", out]);
    assert.equal(q2ks.exitCode, 2, q2ks.stderr);
    assert.match(
      q2ks.stderr,
      /q2_k_s needs an importance matrix \(--imatrix\): tensor blk\.0\.\w+\.weight becomes Q2_K/,
    );
    assert.deepEqual(leftovers(dir, ["probe.gguf"]), []);
  });

  test("bad --tensor-type and mismatched imatrices exit 2 naming what is wrong, nothing written", async () => {
    const dir = tempDir();
    const input = model("stories260K-f32.gguf");
    const out = join(dir, "bad.gguf");
    const run = (...extra: string[]) =>
      qbench(["quantize", input, "--type", "q4_k_m", "--out", out, ...extra]);
    const noEquals = await run("--tensor-type", "attn_v");
    assert.equal(noEquals.exitCode, 2, noEquals.stderr);
    assert.match(noEquals.stderr, /--tensor-type "attn_v": no =/);
    const badType = await run("--tensor-type", "attn_v=q9_9");
    assert.equal(badType.exitCode, 2, badType.stderr);
    assert.match(badType.stderr, /--tensor-type "attn_v=q9_9": unknown type/);
    // The probe model's imatrix: rows of 256 where stories260K has 64.
    const other = await run(
      "--imatrix",
      join(ROOT, "test/fixtures/quantize/kquant-probe.imatrix.gguf"),
    );
    assert.equal(other.exitCode, 2, other.stderr);
    assert.match(
      other.stderr,
      /imatrix entry for tensor blk\.0\.attn_k\.weight has 256 values, the tensor needs 64/,
    );
    // A legacy .dat with one entry no tensor of this model has.
    const dat = join(dir, "foreign.dat");
    const name = Buffer.from("foo.weight");
    const header = Buffer.alloc(12);
    header.writeInt32LE(1, 0);
    header.writeInt32LE(name.length, 4);
    const counts = Buffer.alloc(8);
    counts.writeInt32LE(1, 0);
    counts.writeInt32LE(2, 4);
    writeFileSync(
      dat,
      Buffer.concat([
        header.subarray(0, 8),
        name,
        counts,
        Buffer.from(new Float32Array([1, 2]).buffer),
      ]),
    );
    const foreign = await run("--imatrix", dat);
    assert.equal(foreign.exitCode, 2, foreign.stderr);
    assert.match(
      foreign.stderr,
      /foreign\.dat: the imatrix has no entry for tensor blk\.0\.attn_k\.weight nor for any of the other \d+ tensors/,
    );
    assert.deepEqual(leftovers(dir, ["foreign.dat"]), []);
  });
});
