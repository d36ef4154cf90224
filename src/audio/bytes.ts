// Joining chunks of audio: encoded bytes, or samples.

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return join(parts, (length) => new Uint8Array(length));
}

export function concatSamples(parts: readonly Float32Array[]): Float32Array {
  return join(parts, (length) => new Float32Array(length));
}

function join<T extends Uint8Array | Float32Array>(parts: readonly T[], make: (length: number) => T): T {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const p of parts) length += p.length;
  const out = make(length);
  let at = 0;
  for (const p of parts) {
    out.set(p as any, at);
    at += p.length;
  }
  return out;
}
