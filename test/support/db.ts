import Database from "better-sqlite3";

export interface StoredResult {
  variant: string;
  suite: string;
  item: string;
  repeat: number;
  status: string;
  output: string | null;
  metrics: string;
}

/** Every stored result of a database with its metrics, in a stable order. */
export function storedResults(path: string): StoredResult[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare(
        `SELECT v.name AS variant, r.suite_id AS suite, r.item_id AS item, r.repeat, r.status, r.output,
           (SELECT group_concat(name || '=' || printf('%.12g', value), ' ')
              FROM (SELECT name, value FROM metrics WHERE result_id = r.id ORDER BY name)) AS metrics
         FROM results r JOIN variants v ON v.id = r.variant_id
         ORDER BY v.name, r.suite_id, r.item_id, r.repeat`,
      )
      .all() as StoredResult[];
  } finally {
    db.close();
  }
}

export function countResults(path: string): number {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT COUNT(*) AS n FROM results").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}
