#!/usr/bin/env node
// Registers tsx's loader so that the CLI, a deepstream.config.ts and TypeScript plugins all load
// without a build step, then hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
