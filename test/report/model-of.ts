import { buildReportModel, type ReportOptions } from "../../src/report/build-model.js";
import type { ReportModel } from "../../src/report/view-model.js";
import type { Db } from "../../src/store/database.js";
import { StoreReader } from "../../src/store/reader.js";

/** The report model of a run in an open database, as `qbench report` builds it. */
export function modelOf(db: Db, runId: number, options: ReportOptions = {}): ReportModel {
  return buildReportModel(new StoreReader(db).report(runId), options);
}
