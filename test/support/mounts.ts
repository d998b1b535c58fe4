import { execFileSync } from "node:child_process";

/** A mount made for a test, or why it could not be made (the test then skips, saying so). */
export type Mounted = { unmount: () => void } | { skip: string };

function mount(args: string[], target: string, extra: string[] = []): Mounted {
  try {
    execFileSync("mount", [...args, target], { stdio: "pipe" });
    for (const more of extra)
      execFileSync("mount", [...more.split(" "), target], { stdio: "pipe" });
  } catch (error) {
    try {
      execFileSync("umount", [target], { stdio: "pipe" });
    } catch {
      // Nothing was mounted.
    }
    const stderr = String((error as { stderr?: unknown }).stderr ?? error).trim();
    return { skip: `mount is not permitted here (needs root): ${stderr}` };
  }
  return { unmount: () => execFileSync("umount", [target], { stdio: "pipe" }) };
}

/** Makes a folder read-only in place (a read-only bind mount): even root cannot write it. */
export function mountReadOnly(dir: string): Mounted {
  return mount(["--bind", dir], dir, ["-o remount,bind,ro"]);
}

/** A tmpfs of `size` (e.g. "2m") on `dir`, to fill up. */
export function mountTmpfs(dir: string, size: string): Mounted {
  return mount(["-t", "tmpfs", "-o", `size=${size}`, "tmpfs"], dir);
}
