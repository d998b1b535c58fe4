import { execFileSync } from "node:child_process";

/** Who signs the reviews: --reviewer, else git's user.name where git has one, else undefined. */
export function reviewerName(given: string | undefined, cwd = process.cwd()): string | undefined {
  const named = given?.trim();
  if (named) return named;
  try {
    const name = execFileSync("git", ["config", "user.name"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5000,
    }).trim();
    return name || undefined;
  } catch {
    // No git, or no user.name: the viewer shows the runs and asks for --reviewer before a review.
    return undefined;
  }
}
