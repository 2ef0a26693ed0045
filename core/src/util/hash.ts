const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a over a string's UTF-16 code units, as a signed 32-bit integer: cheap, stable across
 * processes, good enough to spread names and to checksum sets. Pass a previous result as `seed`
 * to hash several strings as one.
 */
export function fnv1a(text: string, seed = FNV_OFFSET): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h | 0;
}
