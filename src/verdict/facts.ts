/** The plain records the verdict judges; the store's read side makes them (src/store/records.ts). */
export type {
  ResultFacts,
  RunFacts,
  TokenFacts,
  VariantFacts,
} from "../store/records.js";
