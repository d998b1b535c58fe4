import { dirname, isAbsolute, resolve } from "node:path";
import type { ScalarTag } from "yaml";
import { InputError } from "../../errors.js";
import { readYamlFile, type YamlSource } from "../../yaml/source.js";
import { FunctionRef } from "./task-config.js";

/** `!function utils.process_docs` reads as a FunctionRef, so it can be refused by its line. */
const FUNCTION_TAG: ScalarTag = {
  tag: "!function",
  resolve: (name: string) => new FunctionRef(name),
};

/**
 * An lm-eval task file with its `include:`s merged as lm-eval's loader merges them
 * (lm_eval/tasks/_yaml_loader.py: each included file, in order, then the file's own keys win);
 * `locate` names the file and line where each top-level key was set.
 */
export function readTaskFile(file: string, referencedAt?: string, seen: string[] = []): YamlSource {
  const source = readYamlFile(file, "BAD_SUITE", referencedAt, [FUNCTION_TAG]);
  const value = source.value;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InputError("BAD_SUITE", "an lm-eval task file is a YAML mapping", {
      location: `${file}:1`,
    });
  }
  const own = { ...(value as Record<string, unknown>) };
  const origin = new Map<string, YamlSource>(Object.keys(own).map((k) => [k, source]));
  const includes = own.include;
  delete own.include;
  origin.delete("include");
  if (includes === undefined) return { file, value: own, locate: locator(file, origin, source) };
  const list = Array.isArray(includes) ? includes : [includes];
  const merged: Record<string, unknown> = {};
  list.forEach((include, i) => {
    const at = source.locate(Array.isArray(includes) ? ["include", i] : ["include"]);
    if (typeof include !== "string") {
      throw new InputError("BAD_SUITE", "include names a file", { location: at });
    }
    const path = isAbsolute(include) ? include : resolve(dirname(file), include);
    if (seen.includes(path) || path === file) {
      throw new InputError("BAD_SUITE", `include cycle: ${[...seen, file, path].join(" → ")}`, {
        location: at,
      });
    }
    const included = readTaskFile(path, at, [...seen, file]);
    const values = included.value as Record<string, unknown>;
    delete values.task_list;
    for (const key of Object.keys(values))
      origin.set(key, { ...included, locate: included.locate });
    Object.assign(merged, values);
  });
  for (const key of Object.keys(own)) origin.set(key, source);
  Object.assign(merged, own);
  return { file, value: merged, locate: locator(file, origin, source) };
}

function locator(
  file: string,
  origin: Map<string, YamlSource>,
  own: YamlSource,
): YamlSource["locate"] {
  return (path) => {
    const head = path[0];
    const from = typeof head === "string" ? origin.get(head) : undefined;
    return (from ?? own).locate(path) || `${file}:1`;
  };
}

/** Every `!function` in the config, with its key path. */
export function functionRefs(
  value: unknown,
  path: PropertyKey[] = [],
): Array<{ path: PropertyKey[]; ref: FunctionRef }> {
  if (value instanceof FunctionRef) return [{ path, ref: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => functionRefs(v, [...path, i]));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => functionRefs(v, [...path, k]));
  }
  return [];
}
