/**
 * Finds a WebGPU adapter through Dawn (npm `webgpu`): a real GPU through Dawn's default backend
 * (Vulkan / Metal / D3D12) first, then Dawn's OpenGL ES backend on Mesa's llvmpipe, the
 * software adapter of machines without a GPU (see docs/webgpu.md).
 */
import { create, globals } from "webgpu";
import { messageOf } from "../shared/serve.js";

export type DawnBackend = "default" | "opengles";

export interface Gpu {
  device: GPUDevice;
  /** The adapter as the driver describes it, e.g. `llvmpipe … (OpenGL ES 3.2 Mesa 22.3.6)`. */
  adapterName: string;
  dawnBackend: DawnBackend;
  featureLevel: "core" | "compatibility";
  /** A CPU-emulated adapter (llvmpipe, lavapipe, SwiftShader, WARP). */
  software: boolean;
}

export class NoAdapterError extends Error {
  readonly tried: string[];
  constructor(tried: string[]) {
    super(`no WebGPU adapter on this machine (tried: ${tried.join("; ")})`);
    this.tried = tried;
  }
}

/** Limits the kernels need above WebGPU's defaults (compatibility mode allows 4 storage buffers). */
const WANTED_LIMITS = [
  "maxStorageBuffersPerShaderStage",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupsPerDimension",
] as const;

let globalsInstalled = false;
/**
 * Dawn instances and adapters stay referenced for the process's life: a collected instance
 * is freed while its device still polls events through it (a use-after-free in Dawn's node binding).
 */
const retained: object[] = [];

function installGlobals(): void {
  // GPUBufferUsage, GPUMapMode and friends are globals in browsers; Dawn's node binding exports them.
  if (!globalsInstalled) Object.assign(globalThis, globals);
  globalsInstalled = true;
}

function describe(adapter: GPUAdapter, backend: DawnBackend): string {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(
    (s) => s !== "",
  );
  return `${parts.join(" ")} (Dawn ${backend === "default" ? "native" : "OpenGL ES"})`;
}

function isSoftware(adapter: GPUAdapter): boolean {
  const info = adapter.info;
  const text =
    `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return (
    info.isFallbackAdapter ||
    /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|warp/.test(text)
  );
}

async function tryBackend(
  backend: DawnBackend,
  tried: string[],
): Promise<{ adapter: GPUAdapter; featureLevel: Gpu["featureLevel"] } | undefined> {
  try {
    if (backend === "opengles") {
      // Mesa's EGL needs no display server on its surfaceless platform; Dawn reads this on create.
      process.env.EGL_PLATFORM ??= "surfaceless";
      const gpu = create(["backend=opengles"]);
      retained.push(gpu);
      const adapter = await gpu.requestAdapter({ featureLevel: "compatibility" });
      if (adapter) return { adapter, featureLevel: "compatibility" };
      tried.push("Dawn OpenGL ES: no adapter (is Mesa's EGL installed? see docs/webgpu.md)");
      return undefined;
    }
    const gpu = create([]);
    retained.push(gpu);
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (adapter) return { adapter, featureLevel: "core" };
    tried.push("Dawn native (Vulkan/Metal/D3D12): no adapter");
  } catch (error) {
    tried.push(`Dawn ${backend}: ${messageOf(error)}`);
  }
  return undefined;
}

/**
 * The first adapter that exists, in `order`; a real GPU is preferred over a software one found
 * by the native backend (lavapipe), which in turn is taken before OpenGL ES.
 */
export async function acquireGpu(order: DawnBackend[] = ["default", "opengles"]): Promise<Gpu> {
  installGlobals();
  const tried: string[] = [];
  for (const backend of order) {
    const found = await tryBackend(backend, tried);
    if (!found) continue;
    const { adapter, featureLevel } = found;
    retained.push(adapter);
    const requiredLimits: Record<string, number> = {};
    for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
    const device = await adapter.requestDevice({ requiredLimits });
    return {
      device,
      adapterName: describe(adapter, backend),
      dawnBackend: backend,
      featureLevel,
      software: isSoftware(adapter),
    };
  }
  throw new NoAdapterError(tried);
}

/** The backend order from `QBENCH_WEBGPU_BACKEND` (`default`, `opengles`), else both in turn. */
export function backendOrder(setting: string | undefined): DawnBackend[] {
  if (setting === "default" || setting === "opengles") return [setting];
  return ["default", "opengles"];
}
