/** Types for scripts/start.mjs (what `npm start` runs), for the tests that import it. */
export declare const ROOT: string;
export declare const BUILD_INPUTS: string[];
export declare const BUILD_OUTPUTS: string[];
export declare function buildStatus(root?: string): { needed: boolean; reason: string };
export declare function findElectron(
  root?: string,
): { binary: string; why: null } | { binary: null; why: string };
export declare function main(argv?: string[], root?: string): void;
