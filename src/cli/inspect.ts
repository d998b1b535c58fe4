import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { readGguf } from "../../lib/gguf/reader.js";
import {
  type GgufSummary,
  type RoleSummary,
  sha256File,
  summarizeGguf,
  summarizeRoles,
} from "../gguf/summary.js";
import { PROGRESS_MIN_BYTES, stderrProgress } from "./quantize.js";

interface InspectArgs {
  model: string;
  json: boolean;
}

export interface Inspection extends GgufSummary {
  /** The mix: per tensor role, the types used and their bits per weight. */
  roles: Record<string, RoleSummary>;
  path: string;
  ggufVersion: number;
  sha256: string;
}

const count = (n: number) => n.toLocaleString("en-US");

function bytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(2)} ${units[unit]} (${count(n)} bytes)`;
}

function params(n: number): string {
  const [div, suffix] =
    n >= 1e9 ? [1e9, "B"] : n >= 1e6 ? [1e6, "M"] : n >= 1e3 ? [1e3, "K"] : [1, ""];
  return div === 1 ? count(n) : `${(n / div).toFixed(2)} ${suffix} (${count(n)})`;
}

function table(rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) =>
          rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function render(s: Inspection): string {
  const opt = (v: number | string | undefined) => (v === undefined ? "—" : String(v));
  const fileType =
    s.fileType === undefined
      ? "—"
      : `${s.fileType}${s.fileTypeDescription ? ` (${s.fileTypeDescription})` : ""}`;
  const facts: [string, string][] = [
    ["model", s.path],
    ["architecture", s.architecture],
    ["name", opt(s.name)],
    ["file type", fileType],
    ["GGUF version", String(s.ggufVersion)],
    ["parameters", params(s.parameterCount)],
    ["file size", bytes(s.fileSize)],
    ["tensor data", bytes(s.tensorBytes)],
    ["bits per weight", s.bitsPerWeight.toFixed(2)],
    ["context length", opt(s.contextLength)],
    ["vocabulary", s.vocabularySize === undefined ? "—" : count(s.vocabularySize)],
    ["tokenizer", opt(s.tokenizerModel)],
    ["layers", opt(s.blockCount)],
    ["embedding", opt(s.embeddingLength)],
    ["heads / kv heads", `${opt(s.headCount)} / ${opt(s.headCountKv)}`],
    ["sha256", s.sha256],
  ];
  const types = Object.entries(s.tensorTypes).sort((a, b) => b[1].bytes - a[1].bytes);
  const histogram = table(
    [
      ["tensor type", "tensors", "bytes", "share"],
      ...types.map(([name, t]) => [
        name,
        count(t.count),
        count(t.bytes),
        `${((100 * t.bytes) / Math.max(s.tensorBytes, 1)).toFixed(1)}%`,
      ]),
      ["total", count(s.tensorCount), count(s.tensorBytes), "100.0%"],
    ],
    new Set([1, 2, 3]),
  );
  const roles = Object.entries(s.roles).sort((a, b) => b[1].bytes - a[1].bytes);
  const mix = table(
    [
      ["tensor role", "tensors", "types", "bits per weight", "bytes"],
      ...roles.map(([role, r]) => [
        role,
        count(r.tensors),
        Object.entries(r.types)
          .sort((a, b) => b[1] - a[1])
          .map(([type, n]) => `${n} ${type}`)
          .join(", "),
        r.bitsPerWeight.toFixed(2),
        count(r.bytes),
      ]),
      ["total", count(s.tensorCount), "", s.bitsPerWeight.toFixed(2), count(s.tensorBytes)],
    ],
    new Set([1, 3, 4]),
  );
  return `${table(facts, new Set())}\n\n${histogram}\n\n${mix}\n`;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: "inspect <model>",
  describe:
    "Summarize a GGUF model: architecture, parameters, tensor types, bits per weight, sha256",
  builder: (y) =>
    y
      .positional("model", { type: "string", describe: "GGUF model file", demandOption: true })
      .option("json", {
        type: "boolean",
        default: false,
        describe: "Print one JSON object instead of the table",
      })
      .example("$0 inspect model.gguf --json", "the summary as JSON"),
  handler: async (args) => {
    const path = resolve(args.model);
    const file = await readGguf(path);
    const summary = summarizeGguf(file);
    const progress = stderrProgress("qbench inspect: sha256");
    const sha256 = await sha256File(path, (done) => {
      if (file.fileSize >= PROGRESS_MIN_BYTES) progress.update(done, file.fileSize, "");
    }).finally(() => progress.done());
    const inspection: Inspection = {
      path,
      ggufVersion: file.version,
      ...summary,
      roles: summarizeRoles(file),
      sha256,
    };
    process.stdout.write(args.json ? `${JSON.stringify(inspection)}\n` : render(inspection));
  },
};
