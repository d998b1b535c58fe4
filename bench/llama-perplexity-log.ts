/**
 * What bench/overhead.ts and bench/native-scorer.ts read from a llama-perplexity log: its
 * evaluation rate — evaluated tokens (chunks × ctx) over the time between the "calculating
 * perplexity over N chunks" and "Final estimate" lines, from llama.cpp's log timestamps — and
 * the final PPL.
 */
export function perplexityLogRate(log: string, ctx: number): { tps: number; ppl: number } {
  const lines = log.split("\n");
  const stamp = (line: string | undefined) => {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)/.exec(line ?? "");
    return m
      ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) / 1e3 + Number(m[4]) / 1e6
      : Number.NaN;
  };
  const start = lines.find((l) => l.includes("calculating perplexity over"));
  const end = lines.find((l) => l.includes("Final estimate"));
  const chunks = Number(/over (\d+) chunks/.exec(start ?? "")?.[1]);
  const ppl = Number(/PPL = ([\d.]+)/.exec(end ?? "")?.[1]);
  return { tps: (chunks * ctx) / (stamp(end) - stamp(start)), ppl };
}
