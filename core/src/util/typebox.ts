/**
 * TypeBox's values (the schema builder, the validator), loaded from its CommonJS build. Its ES
 * module build is some 270 files, and loading those keeps about 3 MB more resident at start than
 * the same code as CommonJS (bench/memory.ts measures the server's start). Types come from the
 * package as usual.
 */
import { createRequire } from 'node:module';
import type * as TypeBox from '@sinclair/typebox';
import type * as TypeBoxValue from '@sinclair/typebox/value';

const load = createRequire(import.meta.url);
const typebox = load('@sinclair/typebox') as typeof TypeBox;
const value = load('@sinclair/typebox/value') as typeof TypeBoxValue;

export const Type: typeof TypeBox.Type = typebox.Type;
export const Kind: typeof TypeBox.Kind = typebox.Kind;
export const Value: typeof TypeBoxValue.Value = value.Value;
export const ValueErrorType: typeof TypeBoxValue.ValueErrorType = value.ValueErrorType;
