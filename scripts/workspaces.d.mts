/** Types for workspaces.mjs, for the tests that import it. */
export declare const root: string;
export interface Workspace {
  /** Relative to the repository root, e.g. `plugins/events`. */
  path: string;
  dir: string;
  pkg: Record<string, any>;
}
export declare function workspaces(): Workspace[];
