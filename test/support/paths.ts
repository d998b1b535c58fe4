import { fileURLToPath } from "node:url";

/** The repository root (tests run compiled from dist/test/…). */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The shared test models beside the repository (never used by the product itself). */
export const MODELS = fileURLToPath(new URL("../../../../shared/models/", import.meta.url));
export const model = (name: string) => `${MODELS}${name}`;
/** Compiled test support scripts (fake runners). */
export const SUPPORT = fileURLToPath(new URL("./", import.meta.url));
