#!/usr/bin/env node
// The `deepstream` command. An installed package runs its compiled dist/ on plain Node. In a
// checkout of the repository (src/ is not published) it runs the sources instead: tsx compiles
// them, and the "source" export condition makes every @deepstream-ts/* import resolve to src/ too,
// so a stale or missing dist/ never matters while developing.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('node:module');
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  register('data:text/javascript,export const resolve = (specifier, context, next) => next(specifier, { ...context, conditions: [...context.conditions, "source"] });');
  await import(source.href);
} else {
  await import('../dist/cli.js');
}
