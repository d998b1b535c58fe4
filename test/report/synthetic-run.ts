import { seededRandom } from "../../src/scoring/bootstrap.js";
import { type Db, openDatabase } from "../../src/store/database.js";
import { Store } from "../../src/store/store.js";

/**
 * Writes a stored run with realistic figures straight into SQLite (one transaction), through the
 * same tables `qbench run` fills: for report tests at sizes and shapes a real run here cannot
 * reach (ten variants, 50,000 items, a 7B model's timings). Not a model run: outputs are drawn.
 */
export interface SyntheticRunOptions {
  /** Variants including the baseline (the first), at most 10. */
  variants: number;
  /** Items over the three suites: 40 % exact match, 50 % ROUGE, 10 % perplexity chunks. */
  items: number;
  planName?: string;
  /** The last variant failed to load (no results, an error and a stderr tail). */
  failedVariant?: boolean;
  seed?: number;
  /** The plan's gates section (default: inconclusive is no-ship, the rest defaults). */
  gates?: Record<string, unknown>;
}

/** A 7B model's quantizations, from llama.cpp's published sizes (bits per weight) and a quality loss. */
const LADDER = [
  { name: "f16", precision: "fp16", bpw: 16.0, loss: 0 },
  { name: "q8_0", precision: "int8", bpw: 8.5, loss: 0.004 },
  { name: "q6_k", precision: "q6_k", bpw: 6.56, loss: 0.01 },
  { name: "q5_k_m", precision: "q5_k_m", bpw: 5.69, loss: 0.018 },
  { name: "q5_0", precision: "q5_0", bpw: 5.5, loss: 0.025 },
  { name: "q4_k_m", precision: "q4_k_m", bpw: 4.85, loss: 0.035 },
  { name: "q4_0", precision: "int4", bpw: 4.5, loss: 0.055 },
  { name: "q3_k_m", precision: "q3_k_m", bpw: 3.91, loss: 0.09 },
  { name: "q2_k", precision: "q2_k", bpw: 2.96, loss: 0.2 },
  { name: "iq2_xs", precision: "iq2_xs", bpw: 2.31, loss: 0.3 },
];
const PARAMETERS = 6_738_415_616;
const WORDS =
  "the a little girl boy dog cat sun park tree ball friend mom dad happy sad big small red blue went saw played ran jumped found liked wanted said looked day time home garden river bird box toy cake rain"
    .split(" ")
    .filter(Boolean);

export function writeSyntheticRun(db: Db, options: SyntheticRunOptions): number {
  const random = seededRandom(options.seed ?? 7);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const sentence = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(" ");
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const ladder = LADDER.slice(0, Math.max(1, Math.min(options.variants, LADDER.length)));
  const store = new Store(db);
  const qa = Math.round(options.items * 0.4);
  const summaries = Math.round(options.items * 0.5);
  const chunks = Math.max(0, options.items - qa - summaries);
  const plan = {
    name: options.planName ?? "llama-2-7b-nightly",
    variants: ladder.map((v, i) => ({ name: v.name, precision: v.precision, baseline: i === 0 })),
    gates: options.gates ?? { inconclusive: "no-ship" },
  };
  let runId = 0;
  db.transaction(() => {
    runId = store.createRun({
      planName: plan.name,
      planFile: "/ci/plans/llama-2-7b.yaml",
      planHash: `synthetic-${options.seed ?? 7}-${options.items}-${ladder.length}`,
      planJson: JSON.stringify(plan),
      provenance: {
        qbenchVersion: "0.1.0",
        nodeVersion: "v20.20.2",
        host: "gpu-runner-03",
        platform: "linux 6.8.0",
        cpu: "AMD EPYC 7763 64-Core Processor",
        cpuCores: 32,
        memoryBytes: 270_000_000_000,
        gpu: "NVIDIA A100-SXM4-80GB",
        gpuDriver: "550.54.15",
        gitCommit: "3f9c1e2a7b5d4c8e9f0a1b2c3d4e5f6a7b8c9d0e",
        gitDirty: false,
      },
    });
    const suites = [
      { id: "qa", description: "Short factual answers, exact match.", n: qa },
      { id: "summaries", description: "One-sentence summaries, ROUGE.", n: summaries },
      { id: "heldout", description: "Perplexity on held-out text, 512-token chunks.", n: chunks },
    ];
    const items = new Map<string, Array<{ id: string; prompt: string; reference: string }>>();
    for (const s of suites) {
      if (s.n === 0) continue;
      store.addSuite(runId, { ...s, file: `/ci/suites/${s.id}.yaml`, hash: s.id, metrics: [] });
      const list = Array.from({ length: s.n }, (_, i) => ({
        id: `${s.id}-${String(i + 1).padStart(5, "0")}`,
        prompt:
          s.id === "qa"
            ? `Question: who ${sentence(8)}?\nAnswer:`
            : `Summarize in one sentence:\n${sentence(60)}\nSummary:`,
        reference: s.id === "qa" ? pick(WORDS) : sentence(14),
      }));
      items.set(s.id, list);
      store.addItems(runId, s.id, list);
    }
    const insertResult = db.prepare(
      `INSERT INTO results (variant_id, suite_id, item_id, repeat, status, output, prompt_tokens,
         completion_tokens, ttft_ms, tokenize_ms, decode_ms, total_ms, ipc_ms, finish_reason, created_at)
       VALUES (?, ?, ?, 0, 'ok', ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00.000Z')`,
    );
    const insertMetric = db.prepare(
      "INSERT INTO metrics (result_id, name, value) VALUES (?, ?, ?)",
    );
    const insertTokens = db.prepare(
      "INSERT INTO token_scores (result_id, tokens_hash, logprobs, kld, same_top) VALUES (?, ?, ?, ?, ?)",
    );
    // Per item, what the baseline did: the variants are drawn relative to it.
    const baseQa: boolean[] = [];
    const baseOut: string[] = [];
    const baseRouge: number[] = [];
    const baseLogprobs: Float32Array[] = [];
    ladder.forEach((v, index) => {
      const failed = options.failedVariant === true && index === ladder.length - 1 && index > 0;
      const modelBytes = Math.round((PARAMETERS * v.bpw) / 8);
      const row = store.upsertVariant(runId, {
        name: v.name,
        precision: v.precision,
        isBaseline: index === 0,
        modelPath: `/models/llama-2-7b.${v.name}.gguf`,
        modelSha256: `${index}`.repeat(64).slice(0, 64),
        modelBytes,
        architecture: "llama",
        parameterCount: PARAMETERS,
        bitsPerWeight: v.bpw,
        tensorTypes: {
          [v.name.toUpperCase()]: { count: 224, bytes: modelBytes - 1_000_000 },
          F32: { count: 65, bytes: 1_000_000 },
        },
        backendRequested: "cuda",
        runner: "llama-cpp",
        threads: 8,
        contextSize: 4096,
      });
      if (failed) {
        store.updateVariant(row.id, {
          status: "failed",
          error: `runner did not load the model: cannot allocate ${(modelBytes / 2 ** 30).toFixed(1)} GiB (OUT_OF_MEMORY)`,
          stderrTail:
            "ggml_cuda_host_malloc: failed to allocate\nllama_model_load: error loading model",
        });
        return;
      }
      // Memory-bound decoding: speed follows the bytes read per token.
      const decodeTps = 58 * (16 / v.bpw) ** 0.85;
      const prefillTps = 2900 * (16 / v.bpw) ** 0.35;
      store.updateVariant(row.id, {
        status: "complete",
        backend: "cuda",
        device: "NVIDIA A100-SXM4-80GB",
        runnerVersion: "0.1.0",
        engine: "node-llama-cpp 3.22.1 (llama.cpp b6000)",
        loadMs: 900 + modelBytes / 4e6,
        peakRssBytes: Math.round(1.1e9 + modelBytes * 0.08),
        engineDeviceBytes: Math.round(modelBytes * 1.07 + 1.3e9),
      });
      const generate = (suite: string, itemId: string, output: string, promptTokens: number) => {
        const completion = Math.max(1, output.split(" ").length + 1);
        const tokenize = 0.15 + random() * 0.1;
        const ttft = tokenize + (promptTokens / prefillTps) * 1000 * (1 + 0.08 * Math.abs(gauss()));
        const decode = ((completion - 1) / decodeTps) * 1000 * (1 + 0.05 * Math.abs(gauss()));
        const info = insertResult.run(
          row.id,
          suite,
          itemId,
          output,
          promptTokens,
          completion,
          ttft,
          tokenize,
          decode,
          ttft + decode,
          ttft + decode + 0.4 + random() * 0.3,
          "stop",
        );
        return info.lastInsertRowid;
      };
      items.get("qa")?.forEach((item, i) => {
        let right: boolean;
        if (index === 0) right = random() < 0.62;
        else if (baseQa[i]) right = random() >= v.loss;
        else right = random() < v.loss / 3;
        const output = right ? ` ${item.reference}` : ` ${pick(WORDS)} ${sentence(2)}`;
        if (index === 0) baseQa[i] = right;
        const id = generate("qa", item.id, output, 24 + (i % 17));
        insertMetric.run(id, "exact_match", right ? 1 : 0);
      });
      items.get("summaries")?.forEach((item, i) => {
        // A variant mostly writes the baseline's summary; when it does not, it scores lower.
        const same = index === 0 || random() > v.loss * 4;
        if (index === 0) {
          baseRouge[i] = Math.min(0.95, Math.max(0, 0.36 + 0.12 * gauss()));
          baseOut[i] = sentence(14);
        }
        const base = baseRouge[i] ?? 0;
        const score = same ? base : Math.max(0, base - 0.15 * random() + 0.05 * gauss());
        const output = same ? (baseOut[i] ?? "") : sentence(12 + (i % 5));
        const id = generate("summaries", item.id, output, 95 + (i % 40));
        for (const type of ["rouge1", "rouge2", "rougeL", "rougeLsum"]) {
          const scale = type === "rouge2" ? 0.45 : type === "rouge1" ? 1.1 : 1;
          const f1 = Math.min(1, score * scale);
          insertMetric.run(id, `${type}_f1`, f1);
          insertMetric.run(id, `${type}_precision`, Math.min(1, f1 * 1.05));
          insertMetric.run(id, `${type}_recall`, f1 * 0.95);
        }
      });
      for (let c = 0; c < chunks; c++) {
        const scored = 64;
        const logprobs = new Float32Array(scored);
        const kld = new Float32Array(scored);
        const sameTop = new Uint8Array(scored);
        for (let t = 0; t < scored; t++) {
          const base = baseLogprobs[c]?.[t];
          if (index === 0 || base === undefined) logprobs[t] = -Math.abs(1.6 + 1.1 * gauss());
          else {
            kld[t] = Math.abs(v.loss * 0.4 * gauss()) + v.loss * 0.05;
            logprobs[t] = base - (kld[t] ?? 0) * (0.5 + random());
            sameTop[t] = random() > v.loss * 2 ? 1 : 0;
          }
        }
        if (index === 0) baseLogprobs[c] = logprobs;
        const info = insertResult.run(
          row.id,
          "heldout",
          `heldout-${String(c + 1).padStart(5, "0")}`,
          null,
          512,
          null,
          null,
          null,
          null,
          40 + random() * 5,
          41 + random() * 5,
          null,
        );
        let nll = 0;
        let nll2 = 0;
        for (const lp of logprobs) {
          nll -= lp;
          nll2 += lp * lp;
        }
        insertMetric.run(info.lastInsertRowid, "nll_sum", nll);
        insertMetric.run(info.lastInsertRowid, "nll2_sum", nll2);
        insertMetric.run(info.lastInsertRowid, "tokens", scored);
        if (index > 0) {
          insertMetric.run(
            info.lastInsertRowid,
            "kld_sum",
            kld.reduce((a, b) => a + b, 0),
          );
          insertMetric.run(
            info.lastInsertRowid,
            "same_top",
            sameTop.reduce((a, b) => a + b, 0),
          );
        }
        insertTokens.run(
          info.lastInsertRowid,
          `chunk-${c}`,
          Buffer.from(logprobs.buffer),
          index > 0 ? Buffer.from(kld.buffer) : null,
          index > 0 ? Buffer.from(sameTop.buffer) : null,
        );
      }
    });
    store.finishRun(runId, "complete");
  })();
  return runId;
}

/** Writes a synthetic run into a new database file; returns the run's id. */
export function writeSyntheticFile(path: string, options: SyntheticRunOptions): number {
  const db = openDatabase(path);
  try {
    return writeSyntheticRun(db, options);
  } finally {
    db.close();
  }
}
