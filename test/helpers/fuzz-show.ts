/**
 * Prints the attack of one fuzz run, decoded, for reading a counterexample:
 *   FUZZ_SEED=190719 [FUZZ_KNOWN=…] node --conditions=source --import tsx test/helpers/fuzz-show.ts PATH
 * where PATH is the one fast-check printed (e.g. `44:2:3:17`). Long strings and arrays are cut.
 */
import fc from 'fast-check';
import { binaryCodec } from '@deepstream-ts/core';
import { batchArb } from './fuzz-frames.ts';

const cut = (_key: string, value: unknown) => {
  if (typeof value === 'string' && value.length > 100) return `<${value.length} chars: ${value.slice(0, 40)}…>`;
  if (Array.isArray(value) && value.length > 20) return `<${value.length} items: ${JSON.stringify(value.slice(0, 3))}…>`;
  return value;
};

// A replayed path starts with the value it names; later calls (fast-check carries on from there) are skipped.
let shown = false;
fc.check(
  fc.property(batchArb, (batch) => {
    if (shown) return true;
    shown = true;
    for (const attack of batch) {
      console.log(`connection: ${attack.stage} as ${JSON.stringify(attack.username)}${attack.closeAtOnce ? ', closed at once' : ''}`);
      for (const frame of attack.frames) {
        if (frame.kind === 'text') console.log(`  text frame ${JSON.stringify(frame.text).slice(0, 200)}`);
        else console.log(`  ${frame.label} (${frame.bytes.length} bytes): ${JSON.stringify(binaryCodec.decode(frame.bytes), cut) ?? 'does not decode'}`);
      }
    }
    return false; // ends the replay here
  }),
  { seed: Number(process.env.FUZZ_SEED ?? 190_719), path: process.argv[2] ?? '0', numRuns: 1, endOnFailure: true },
);
