/**
 * Per-item values kept as a column beside a suite's item list, for runs of 50,000 items: a
 * read-only map with no hash entry per value, and pairing by position when two variants scored
 * the same items (the usual case), instead of one lookup per item.
 */

/** A suite's items in order, with an index built on the first lookup by id. */
export class ItemTable {
  private index: Map<string, number> | undefined;

  constructor(readonly ids: readonly string[]) {}

  indexOf(id: string): number | undefined {
    if (!this.index) this.index = new Map(this.ids.map((item, i) => [item, i]));
    return this.index.get(id);
  }
}

/** Tables shared across a run's variants: equal item lists become one table, indexed once. */
export class ItemTables {
  private readonly bySuite = new Map<string, ItemTable[]>();

  intern(suite: string, ids: readonly string[]): ItemTable {
    const known = this.bySuite.get(suite) ?? [];
    const same = known.find(
      (t) => t.ids.length === ids.length && t.ids.every((x, i) => x === ids[i]),
    );
    if (same) return same;
    const table = new ItemTable(ids);
    this.bySuite.set(suite, [...known, table]);
    return table;
  }
}

/** Values of a table's items (NaN: the item has none), read as a map from item id to value. */
export class ItemColumn implements ReadonlyMap<string, number> {
  readonly size: number;

  constructor(
    readonly table: ItemTable,
    readonly column: Float64Array,
  ) {
    let n = 0;
    for (const v of column) if (!Number.isNaN(v)) n++;
    this.size = n;
  }

  get(item: string): number | undefined {
    const i = this.table.indexOf(item);
    const value = i === undefined ? undefined : this.column[i];
    return value === undefined || Number.isNaN(value) ? undefined : value;
  }

  has(item: string): boolean {
    return this.get(item) !== undefined;
  }

  *entries(): MapIterator<[string, number]> {
    const { ids } = this.table;
    for (let i = 0; i < ids.length; i++) {
      const value = this.column[i] as number;
      if (!Number.isNaN(value)) yield [ids[i] as string, value];
    }
  }

  *keys(): MapIterator<string> {
    for (const [item] of this.entries()) yield item;
  }

  *values(): MapIterator<number> {
    for (const value of this.column) if (!Number.isNaN(value)) yield value;
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }

  forEach(f: (value: number, key: string, map: ReadonlyMap<string, number>) => void): void {
    for (const [item, value] of this.entries()) f(value, item, this);
  }
}

/**
 * The values of the items both maps hold, in the first map's order: by position when both are
 * columns of one table, else by lookup.
 */
export function pairValues(
  first: ReadonlyMap<string, number>,
  second: ReadonlyMap<string, number> | undefined,
): { first: number[]; second: number[] } {
  const out = { first: [] as number[], second: [] as number[] };
  if (!second) return out;
  if (first instanceof ItemColumn && second instanceof ItemColumn && first.table === second.table) {
    const a = first.column;
    const b = second.column;
    for (let i = 0; i < a.length; i++) {
      const x = a[i] as number;
      const y = b[i] as number;
      if (Number.isNaN(x) || Number.isNaN(y)) continue;
      out.first.push(x);
      out.second.push(y);
    }
    return out;
  }
  for (const [item, x] of first) {
    const y = second.get(item);
    if (y === undefined) continue;
    out.first.push(x);
    out.second.push(y);
  }
  return out;
}
