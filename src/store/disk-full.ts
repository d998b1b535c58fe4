/** Whether a store write failed because its disk is full (SQLite's SQLITE_FULL, or ENOSPC). */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_FULL" || code === "ENOSPC";
}
