/** Compute kernels as WGSL plus their named bindings; pipelines and layouts compiled once. */

export type BindingKind = "uniform" | "read" | "rw";

export interface KernelSource {
  label: string;
  code: string;
  /** Binding i's name and kind; kernels with the same kinds share layouts. */
  bindings: Array<[string, BindingKind]>;
}

/**
 * The per-pass parameters every kernel reads at binding 0 (one uniform write per pass):
 * T tokens at positions pos0…, logits for nOut rows starting at token tOut0, and for scoring S
 * target ids and K top entries per row, `stride` floats apart.
 */
const PARAMS_STRUCT = `struct Params { T: u32, pos0: u32, nOut: u32, tOut0: u32, S: u32, K: u32, stride: u32, pad: u32 }`;
export const PARAMS_BYTES = 32;

export interface PassParams {
  T: number;
  pos0: number;
  nOut: number;
  tOut0: number;
  S?: number;
  K?: number;
}

export function encodeParams(p: PassParams, into: Uint32Array): Uint32Array {
  const s = p.S ?? 0;
  const k = p.K ?? 0;
  into.set([p.T, p.pos0, p.nOut, p.tOut0, s, k, s + 2 * k, 0]);
  return into;
}

/** A WGSL f32 literal for a JS number (integers would otherwise read as abstract ints). */
export function f32Literal(x: number): string {
  const text = String(Math.fround(x));
  return /[.eE]/.test(text) ? `${text}f` : `${text}.0f`;
}

/** Collects a kernel's bindings in order; `P` (the pass parameters) is always binding 0. */
export class BindingList {
  readonly entries: Array<[string, BindingKind]> = [["P", "uniform"]];
  private readonly decls: string[] = [
    `${PARAMS_STRUCT}\n@group(0) @binding(0) var<uniform> P: Params;`,
  ];

  /** Declares `name` with WGSL type `type` (e.g. `array<f32>`). */
  add(name: string, kind: BindingKind, type: string): this {
    const space =
      kind === "uniform" ? "uniform" : kind === "read" ? "storage, read" : "storage, read_write";
    this.decls.push(`@group(0) @binding(${this.entries.length}) var<${space}> ${name}: ${type};`);
    this.entries.push([name, kind]);
    return this;
  }

  get wgsl(): string {
    return this.decls.join("\n");
  }
}

export interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export class KernelCache {
  private readonly device: GPUDevice;
  private readonly pipelines = new Map<string, Compiled>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();

  constructor(device: GPUDevice) {
    this.device = device;
  }

  private layoutFor(bindings: KernelSource["bindings"]): GPUBindGroupLayout {
    const key = bindings.map(([, kind]) => kind).join(",");
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        entries: bindings.map(([, kind], binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: {
            type:
              kind === "uniform" ? "uniform" : kind === "read" ? "read-only-storage" : "storage",
          },
        })),
      });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  compile(source: KernelSource): Compiled {
    let compiled = this.pipelines.get(source.code);
    if (!compiled) {
      const layout = this.layoutFor(source.bindings);
      const module = this.device.createShaderModule({ label: source.label, code: source.code });
      const pipeline = this.device.createComputePipeline({
        label: source.label,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: "main" },
      });
      compiled = { pipeline, layout };
      this.pipelines.set(source.code, compiled);
    }
    return compiled;
  }

  /** A bind group giving each of the kernel's bindings the buffer of the same name. */
  bind(source: KernelSource, buffers: Record<string, GPUBuffer>): GPUBindGroup {
    return this.device.createBindGroup({
      label: source.label,
      layout: this.compile(source).layout,
      entries: source.bindings.map(([name], binding) => {
        const buffer = buffers[name];
        if (!buffer) throw new Error(`${source.label}: no buffer for binding ${name}`);
        return { binding, resource: { buffer } };
      }),
    });
  }
}

/** Records one dispatch of a compiled kernel. */
export function dispatch(
  pass: GPUComputePassEncoder,
  compiled: Compiled,
  group: GPUBindGroup,
  x: number,
  y = 1,
): void {
  pass.setPipeline(compiled.pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(x, y);
}
