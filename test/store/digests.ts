import Database from "better-sqlite3";
import { digestStamp } from "../../src/store/facts-digest.js";
import { READER } from "../../src/store/read-facts.js";

/** Variants of a database file, and how many of them hold a digest under this reader's stamp. */
export function currentDigests(path: string): { variants: number; current: number } {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare("SELECT variant_id, stamp FROM variant_facts").all() as Array<{
      variant_id: number;
      stamp: string;
    }>;
    const variants = (db.prepare("SELECT COUNT(*) AS n FROM variants").get() as { n: number }).n;
    const current = rows.filter((r) => r.stamp === digestStamp(db, r.variant_id, READER)).length;
    return { variants, current };
  } finally {
    db.close();
  }
}
