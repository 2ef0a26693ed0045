import { createRequire } from 'node:module';

/** This kernel's version, checked against every plugin's declared kernel range. */
export const KERNEL_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
