/** Earliest stop string in `text`, as the index where the completion must be cut. */
export function findStop(text: string, stop: string[]): number {
  let cut = -1;
  for (const s of stop) {
    const at = s === "" ? -1 : text.indexOf(s);
    if (at >= 0 && (cut < 0 || at < cut)) cut = at;
  }
  return cut;
}
