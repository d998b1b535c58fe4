import { execFile } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { promisify } from "node:util";
import type { CommandModule } from "yargs";
import { loadScorerAddon } from "../../lib/native/scorer-addon.js";
import { messageOf } from "../errors.js";
import { EXIT } from "../exit-codes.js";
import { parseGpuList } from "../measure/nvidia-smi.js";
import { qbenchVersion } from "../orchestrator/provenance.js";
import { RunnerClient } from "../runner-client/client.js";
import { resolveRunner } from "../runner-client/registry.js";

const run = promisify(execFile);

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  hint?: string;
}

async function nodeLlamaCpp(): Promise<Check[]> {
  const checks: Check[] = [];
  let module: typeof import("node-llama-cpp");
  try {
    module = await import("node-llama-cpp");
  } catch (error) {
    return [
      {
        name: "node-llama-cpp",
        ok: false,
        detail: String(error),
        hint: "run npm ci in the qbench folder",
      },
    ];
  }
  const backends: Array<[string, false | "cuda" | "vulkan" | "metal"]> = [
    ["cpu", false],
    ["cuda", "cuda"],
    ["vulkan", "vulkan"],
    ["metal", "metal"],
  ];
  const hints: Record<string, string> = {
    cpu: "reinstall: npm ci (the prebuilt @node-llama-cpp/<platform> package is missing)",
    cuda: "needs an NVIDIA GPU, its driver, and the CUDA runtime the prebuilt binary links (see node-llama-cpp's CUDA guide)",
    vulkan: "needs a GPU with a Vulkan driver (mesa-vulkan-drivers / the vendor's)",
    metal: "macOS on Apple silicon or an AMD GPU only",
  };
  for (const [name, gpu] of backends) {
    if (name === "metal" && process.platform !== "darwin") {
      checks.push({
        name: "backend metal",
        ok: false,
        detail: "macOS only",
        hint: hints.metal ?? "",
      });
      continue;
    }
    // node-llama-cpp explains its fall-backs on the console; doctor says it in its own words.
    const warn = console.warn;
    const log = console.log;
    console.warn = () => {};
    console.log = () => {};
    try {
      const llama = await module.getLlama({
        gpu,
        build: "never",
        logLevel: module.LlamaLogLevel.disabled,
      });
      const devices = gpu === false ? [] : await llama.getGpuDeviceNames();
      checks.push({
        name: `backend ${name}`,
        ok: true,
        detail: `llama.cpp ${llama.llamaCppRelease.release} (${llama.buildType})${devices.length ? ` on ${devices.join(", ")}` : ""}`,
        ...(name === "cpu" && llama.buildType === "prebuilt"
          ? {
              hint: "portable prebuilt kernels; for this CPU's native speed: npx --no node-llama-cpp source download --gpu false (see docs/performance.md)",
            }
          : {}),
      });
      await llama.dispose();
    } catch (error) {
      checks.push({
        name: `backend ${name}`,
        ok: false,
        detail: messageOf(error).split("\n")[0] ?? "unavailable",
        hint: hints[name] ?? "",
      });
    } finally {
      console.warn = warn;
      console.log = log;
    }
  }
  return checks;
}

/**
 * Whether `qbench ppl` scores in C++ (native/scorer.cc) on the CPU backend. Called after the
 * backend checks: the addon binds to the llama.cpp library node-llama-cpp loaded there.
 */
function nativeScorer(cpu: Check | undefined): Check {
  const name = "native scorer";
  if (!cpu?.ok) return { name, ok: false, detail: "no CPU backend to bind to" };
  if (!cpu.detail.includes("(prebuilt)")) {
    return {
      name,
      ok: false,
      detail: "off: local llama.cpp build (node-llama-cpp's JS path scores)",
    };
  }
  const loaded = loadScorerAddon(process.env);
  if (!loaded.addon) {
    const detail = `${loaded.reason} (node-llama-cpp's JS path scores: the same figures, slower)`;
    return loaded.reason.startsWith("not built")
      ? { name, ok: false, detail, hint: "install a C++ compiler, then: node native/build.mjs" }
      : { name, ok: false, detail };
  }
  return {
    name,
    ok: true,
    detail: `built for node-llama-cpp ${loaded.addon.nodeLlamaCppVersion}: ppl on CPU scores in C++ (QBENCH_NATIVE_SCORER=0 turns it off)`,
  };
}

async function nvidiaSmi(): Promise<Check> {
  try {
    const { stdout } = await run(
      "nvidia-smi",
      ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits"],
      {
        timeout: 10_000,
      },
    );
    const gpus = parseGpuList(stdout);
    return {
      name: "nvidia-smi",
      ok: gpus.length > 0,
      detail:
        gpus
          .map((g) => `${g.name}, driver ${g.driver}, ${(g.totalBytes / 2 ** 30).toFixed(1)} GiB`)
          .join("; ") || "no GPU listed",
    };
  } catch {
    return {
      name: "nvidia-smi",
      ok: false,
      detail: "not found",
      hint: "device memory figures need nvidia-smi (NVIDIA driver); without it they are stored as absent, with the reason",
    };
  }
}

/** Asks the WebGPU runner (its own process: a Dawn crash must not take doctor down) for its adapter. */
async function webgpu(): Promise<Check> {
  const hint =
    "a GPU with a Vulkan driver, or Mesa's llvmpipe for the software path (see docs/webgpu.md)";
  let client: RunnerClient | undefined;
  try {
    client = RunnerClient.start(resolveRunner("webgpu", undefined));
    const init = await client.request("initialize", {}, 30_000);
    const ok = init.backends.includes("webgpu");
    return { name: "webgpu", ok, detail: init.engine, ...(ok ? {} : { hint }) };
  } catch (error) {
    return {
      name: "webgpu",
      ok: false,
      detail: messageOf(error).split("\n")[0] ?? "unavailable",
      hint,
    };
  } finally {
    await client?.stop();
  }
}

export const doctorCommand: CommandModule<object, { json: boolean }> = {
  command: "doctor",
  describe: "What this machine can run: Node, the llama.cpp build, backends, GPUs, cores",
  builder: (y) =>
    y.option("json", { type: "boolean", default: false, describe: "One JSON object" }),
  handler: async (args) => {
    const major = Number(process.versions.node.split(".")[0]);
    const backends = await nodeLlamaCpp();
    const checks: Check[] = [
      { name: "qbench", ok: true, detail: qbenchVersion() },
      {
        name: "node",
        ok: major >= 20,
        detail: process.version,
        ...(major >= 20 ? {} : { hint: "qbench needs Node 20 or later" }),
      },
      {
        name: "cpu",
        ok: true,
        detail: `${cpus()[0]?.model ?? "unknown"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
      },
      ...backends,
      nativeScorer(backends.find((c) => c.name === "backend cpu")),
      await nvidiaSmi(),
      await webgpu(),
    ];
    const cpuOk = checks.find((c) => c.name === "backend cpu")?.ok === true && major >= 20;
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ ok: cpuOk, checks })}\n`);
    } else {
      for (const c of checks) {
        process.stdout.write(`${c.ok ? "✓" : "✗"} ${c.name.padEnd(16)} ${c.detail}\n`);
        if (c.hint) process.stdout.write(`  ${"".padEnd(16)} → ${c.hint}\n`);
      }
      process.stdout.write(
        cpuOk
          ? "\nThe CPU path works: qbench run can run here.\n"
          : "\nThe CPU path does not work here.\n",
      );
    }
    // Exit 0 when at least the CPU path works: everything else is optional.
    process.exitCode = cpuOk ? EXIT.ok : EXIT.failed;
  },
};
