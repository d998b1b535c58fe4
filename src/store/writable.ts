import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { InputError } from "../errors.js";

/** Why this process may not write `path` (a read-only mount stops root too), or undefined if it may. */
export function whyNotWritable(path: string): string | undefined {
  try {
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EROFS") return "is on a read-only file system";
    if (code === "EACCES" || code === "EPERM") return "is not writable by this user";
    return `cannot be written (${code ?? String(error)})`;
  }
}

export const canWrite = (path: string): boolean => whyNotWritable(path) === undefined;

/**
 * Refuses (exit 2, before anything runs) a database that cannot be written: the file, or the
 * folder that holds it and its -wal/-shm files, or the nearest existing folder it would be made in.
 */
export function checkWritable(path: string): void {
  const file = resolve(path);
  const refuse = (why: string) => {
    throw new InputError("BAD_INPUT", `cannot write the database: ${why}`, { location: file });
  };
  if (existsSync(file)) {
    if (!statSync(file).isFile()) refuse("it is not a file");
    const why = whyNotWritable(file);
    if (why) refuse(`the file ${why}`);
  }
  let dir = dirname(file);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  if (!statSync(dir).isDirectory()) refuse(`${dir} is not a folder`);
  const why = whyNotWritable(dir);
  if (why) refuse(`its folder ${dir} ${why}`);
}
