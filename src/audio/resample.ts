// Sample-rate conversion by a polyphase windowed-sinc filter (Kaiser window).
//
// For a rational ratio toRate/fromRate = L/M, output sample n sits at input time
// t = n*M/L = i + p/L. Its value is a weighted sum of the inputs around t, with the weights
// for each of the L possible fractional positions p precomputed once (the "phases").
// When downsampling, the sinc is stretched so that its cutoff is below the output Nyquist
// frequency: that is the anti-aliasing low-pass.

/** Sinc zero crossings kept on each side of the centre (quality vs. speed). */
const ZERO_CROSSINGS = 12;
/** Cutoff as a fraction of the lower Nyquist frequency; the rest is the transition band. */
const ROLLOFF = 0.9;
/** Kaiser window shape; 7 gives roughly 70 dB of stop-band attenuation. */
const KAISER_BETA = 7;

interface Filter {
  /** Interpolation factor and decimation factor: toRate/fromRate = up/down, reduced. */
  up: number;
  down: number;
  /** Half the number of taps per phase: output i uses inputs i-half+1 .. i+half. */
  half: number;
  taps: number;
  /** up rows of `taps` weights; row p is for fractional position p/up. */
  table: Float32Array;
}

const filters = new Map<string, Filter>();
const MAX_CACHED_FILTERS = 8;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; term > sum * 1e-12; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

function checkRate(rate: number, name: string): void {
  if (!Number.isInteger(rate) || rate <= 0) throw new RangeError(`${name} must be a positive integer, got ${rate}`);
}

function getFilter(fromRate: number, toRate: number): Filter {
  const key = `${fromRate}:${toRate}`;
  const cached = filters.get(key);
  if (cached) return cached;

  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  // Cutoff in units of the input Nyquist frequency.
  const cutoff = Math.min(1, toRate / fromRate) * ROLLOFF;
  // Window half-length, in input samples.
  const width = ZERO_CROSSINGS / cutoff;
  const half = Math.ceil(width) + 1;
  const taps = 2 * half;
  const table = new Float32Array(up * taps);
  const i0Beta = besselI0(KAISER_BETA);

  for (let p = 0; p < up; p++) {
    const frac = p / up;
    const row = p * taps;
    let sum = 0;
    for (let m = 0; m < taps; m++) {
      // Distance from the output instant to input (i - half + 1 + m).
      const u = frac + half - 1 - m;
      let w = 0;
      if (Math.abs(u) < width) {
        const x = cutoff * u;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        const r = u / width;
        w = cutoff * sinc * (besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0Beta);
      }
      table[row + m] = w;
      sum += w;
    }
    // Exact unity gain at DC for every phase (no ripple on a constant signal).
    for (let m = 0; m < taps; m++) table[row + m] = table[row + m]! / sum;
  }

  const filter: Filter = { up, down, half, taps, table };
  if (filters.size >= MAX_CACHED_FILTERS) filters.delete(filters.keys().next().value!);
  filters.set(key, filter);
  return filter;
}

/** Number of output samples for `inputLength` inputs (same for whole-buffer and streaming). */
export function resampledLength(inputLength: number, fromRate: number, toRate: number): number {
  if (fromRate === toRate) return inputLength;
  const g = gcd(fromRate, toRate);
  return Math.ceil((inputLength * (toRate / g)) / (fromRate / g));
}

/** Resample a whole buffer; the signal is taken as zero before its start and after its end. */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  checkRate(fromRate, "fromRate");
  checkRate(toRate, "toRate");
  if (fromRate === toRate) return samples.slice();

  const { up, down, half, taps, table } = getFilter(fromRate, toRate);
  const n = samples.length;
  const out = new Float32Array(resampledLength(n, fromRate, toRate));
  const stepInt = Math.floor(down / up);
  const stepFrac = down % up;
  let i = 0;
  let p = 0;

  for (let k = 0; k < out.length; k++) {
    const start = i - half + 1;
    const row = p * taps;
    let acc = 0;
    if (start >= 0 && start + taps <= n) {
      for (let m = 0; m < taps; m++) acc += samples[start + m]! * table[row + m]!;
    } else {
      // Near the edges: skip the taps that fall outside the signal.
      const from = Math.max(0, -start);
      const to = Math.min(taps, n - start);
      for (let m = from; m < to; m++) acc += samples[start + m]! * table[row + m]!;
    }
    out[k] = acc;
    i += stepInt;
    p += stepFrac;
    if (p >= up) {
      p -= up;
      i++;
    }
  }
  return out;
}

/**
 * Resampling for audio that arrives in chunks (e.g. the toy's UDP frames). The filter state
 * carries over between chunks, so the concatenated output is exactly what `resample` gives
 * for the concatenated input: no clicks at chunk boundaries. Output lags input by about
 * `half` input samples (12 zero crossings: < 1 ms at 32 kHz -> 16 kHz); `flush` returns the rest.
 */
export class StreamingResampler {
  private readonly filter: Filter | null;
  /** Pending input; buffer[0] is absolute input index `base`. */
  private buffer = new Float32Array(0);
  private base = 0;
  private inputCount = 0;
  /** Position of the next output: input index i plus fraction p/up. */
  private i = 0;
  private p = 0;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    checkRate(fromRate, "fromRate");
    checkRate(toRate, "toRate");
    this.filter = fromRate === toRate ? null : getFilter(fromRate, toRate);
    this.reset();
  }

  /** Forget all pending input (start a new stream). */
  reset(): void {
    const half = this.filter?.half ?? 1;
    // Zeros before the first sample, so the first outputs have a full history.
    this.buffer = new Float32Array(half - 1);
    this.base = -(half - 1);
    this.inputCount = 0;
    this.i = 0;
    this.p = 0;
  }

  push(chunk: Float32Array): Float32Array {
    if (!this.filter) return chunk.slice();
    this.append(chunk);
    this.inputCount += chunk.length;
    return this.drain(Infinity);
  }

  /** End of stream: returns the remaining output and resets for a new stream. */
  flush(): Float32Array {
    if (!this.filter) return new Float32Array(0);
    this.append(new Float32Array(this.filter.half));
    const out = this.drain(this.inputCount);
    this.reset();
    return out;
  }

  private append(chunk: Float32Array): void {
    const keep = this.buffer;
    this.buffer = new Float32Array(keep.length + chunk.length);
    this.buffer.set(keep, 0);
    this.buffer.set(chunk, keep.length);
  }

  /** Produce every output whose window is fully buffered and whose position is below `limit`. */
  private drain(limit: number): Float32Array {
    const { up, down, half, taps, table } = this.filter!;
    const stepInt = Math.floor(down / up);
    const stepFrac = down % up;
    const buf = this.buffer;
    const last = this.base + buf.length - 1;
    const maxOut = Math.max(0, Math.ceil(((last - half + 1 - this.i) * up) / down) + 1);
    const out = new Float32Array(maxOut);
    let i = this.i;
    let p = this.p;
    let k = 0;

    while (i + half <= last && i < limit && k < maxOut) {
      const start = i - half + 1 - this.base;
      const row = p * taps;
      let acc = 0;
      for (let m = 0; m < taps; m++) acc += buf[start + m]! * table[row + m]!;
      out[k++] = acc;
      i += stepInt;
      p += stepFrac;
      if (p >= up) {
        p -= up;
        i++;
      }
    }
    this.i = i;
    this.p = p;
    // Drop input that no future output needs.
    const drop = Math.max(0, Math.min(buf.length, i - half + 1 - this.base));
    this.buffer = buf.slice(drop);
    this.base += drop;
    return k === maxOut ? out : out.slice(0, k);
  }
}
