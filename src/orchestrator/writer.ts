import { hostname } from "node:os";

/** This process as a run's writer: `pid@host`. */
export function currentWriter(): string {
  return `${process.pid}@${hostname()}`;
}

/**
 * Whether the process named `pid@host` still runs. One on another host cannot be asked: it is
 * taken as gone, so a run left `running` there can still be resumed here.
 */
export function isWriterAlive(writer: string): boolean {
  const at = writer.indexOf("@");
  const pid = Number(writer.slice(0, at));
  if (writer.slice(at + 1) !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
