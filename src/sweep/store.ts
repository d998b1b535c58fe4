/** A load sweep is stored by the store's write side (src/store/sweeps.ts). */
export { type SweepRecord, saveSweep } from "../store/sweeps.js";
