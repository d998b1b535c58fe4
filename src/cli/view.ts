import { spawn } from "node:child_process";
import type { CommandModule } from "yargs";
import { InputError } from "../errors.js";
import { reviewerName } from "../view/reviewer.js";
import { startViewer } from "../view/server.js";
import { DEFAULT_DB } from "./open-run.js";

interface ViewArgs {
  db: string;
  port: number;
  host: string;
  token: string | undefined;
  reviewer: string | undefined;
  open: boolean;
}

/** The system's way to open a URL in the user's browser. */
function openInBrowser(url: string): void {
  const [command, ...args] =
    process.platform === "darwin"
      ? ["open", url]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", "", url]
        : ["xdg-open", url];
  const child = spawn(command as string, args, { stdio: "ignore", detached: true });
  child.on("error", () => process.stderr.write(`could not open a browser: open ${url}\n`));
  child.unref();
}

export const viewCommand: CommandModule<object, ViewArgs> = {
  command: "view",
  describe:
    "A local web viewer of the database: runs, a run's report, comparisons, a plan's history, and reviews of the outputs that disagree",
  builder: (y) =>
    y
      .option("db", { type: "string", default: DEFAULT_DB, describe: "SQLite database" })
      .option("port", { type: "number", default: 8765, describe: "Port (0: any free one)" })
      .option("host", {
        type: "string",
        default: "127.0.0.1",
        describe: "Address to listen on; anything but loopback requires --token",
      })
      .option("token", {
        type: "string",
        describe: "A secret every request must carry (required off loopback)",
      })
      .option("reviewer", {
        type: "string",
        describe: "Who signs the reviews (default: git config user.name)",
      })
      .option("open", { type: "boolean", default: false, describe: "Open it in the browser" })
      .example("$0 view", "serve .qbench/qbench.db on http://127.0.0.1:8765/")
      .example("$0 view --reviewer 'Ada L.' --open", "review as Ada, in the default browser"),
  handler: async (args) => {
    if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535)
      throw new InputError(
        "BAD_USAGE",
        `--port must be an integer from 0 to 65535, got ${args.port}`,
      );
    const reviewer = reviewerName(args.reviewer);
    const viewer = await startViewer({
      db: args.db,
      host: args.host,
      port: args.port,
      token: args.token,
      reviewer,
    });
    process.stdout.write(
      `qbench view: ${viewer.url}\n${reviewer ? `reviewing as ${reviewer}` : "no reviewer name (--reviewer NAME, or git config user.name): reviews are refused"}; Ctrl-C stops it\n`,
    );
    if (args.open) openInBrowser(viewer.url);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        viewer.close().then(done, done);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
  },
};
