// Level normalization for quiet microphones: measures a recording and brings its speech to a level
// the VAD and the recognizer are used to. Real toys record around -50 dBFS; the
// speech detector misses much of that, especially with the microphone's hiss on top.

export interface Level {
  /** Mean of the samples (a microphone's DC offset); removed before everything else. */
  dc: number;
  /** Frame RMS in dBFS at the 10th percentile: the noise between words. */
  floorDb: number;
  /** Frame RMS in dBFS at the 95th percentile: the loud part of the speech. */
  speechDb: number;
  /** Largest absolute sample after removing the DC, in dBFS. */
  peakDb: number;
}

export interface LevelOptions {
  /** Where the speech level (95th percentile frame RMS) is brought to. */
  targetDb: number;
  maxGainDb: number;
  /** Speech is this much louder than the noise floor; less means stationary noise or silence. */
  minContrastDb: number;
  /** Without that contrast, the gain stops where the noise floor reaches this level. */
  noiseCeilingDb: number;
}

export const LEVEL_DEFAULTS: LevelOptions = {
  targetDb: -20,
  maxGainDb: 40,
  minContrastDb: 6,
  noiseCeilingDb: -40,
};

const FRAME_SECONDS = 0.03;
const FLOOR_PERCENTILE = 0.1;
const SPEECH_PERCENTILE = 0.95;
/** Samples above LIMIT (-6 dBFS) are bent softly towards CEILING, never past it. */
const LIMIT = 0.5;
const CEILING = 0.99;

export function measureLevel(samples: Float32Array, sampleRate: number): Level {
  let sum = 0;
  for (const x of samples) sum += x;
  const dc = samples.length ? sum / samples.length : 0;
  const frame = Math.max(1, Math.round(FRAME_SECONDS * sampleRate));
  const frames: number[] = [];
  let peak = 0;
  for (let start = 0; start < samples.length; start += frame) {
    const end = Math.min(samples.length, start + frame);
    if (end - start < frame && frames.length) break; // a short last frame would read as a quiet one
    let energy = 0;
    for (let i = start; i < end; i++) {
      const x = samples[i]! - dc;
      energy += x * x;
      peak = Math.max(peak, Math.abs(x));
    }
    frames.push(db(Math.sqrt(energy / (end - start))));
  }
  frames.sort((a, b) => a - b);
  const at = (p: number) => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))] ?? -Infinity;
  return { dc, floorDb: at(FLOOR_PERCENTILE), speechDb: at(SPEECH_PERCENTILE), peakDb: db(peak) };
}

/** The gain in dB that `normalizeLevel` applies to a recording of this level: 0, or 1 to maxGainDb. */
export function gainFor(level: Level, opts: LevelOptions = LEVEL_DEFAULTS): number {
  if (level.peakDb === -Infinity) return 0; // digital silence
  let gain = Math.min(opts.targetDb - level.speechDb, opts.maxGainDb);
  // Hiss or hum alone has no loud frames to speak of: raising it to speech level would only
  // give the recognizer loud noise to hallucinate on.
  if (level.speechDb - level.floorDb < opts.minContrastDb) gain = Math.min(gain, opts.noiseCeilingDb - level.floorDb);
  return gain >= 1 ? gain : 0; // a recording at the target, or louder, is left as it is
}

/**
 * A whole mono recording with its DC offset removed and its gain set so that the speech reaches
 * `targetDb` (see `gainFor` for the limits), peaks limited below full scale: a new array, or the
 * input itself when it needs no gain (loud recordings reach the recognizer exactly as they were).
 */
export function normalizeLevel(
  samples: Float32Array,
  sampleRate: number,
  opts: LevelOptions = LEVEL_DEFAULTS,
): { samples: Float32Array; level: Level; gainDb: number } {
  const level = measureLevel(samples, sampleRate);
  const gainDb = gainFor(level, opts);
  if (gainDb === 0) return { samples, level, gainDb };
  const k = 10 ** (gainDb / 20);
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = limit((samples[i]! - level.dc) * k);
  return { samples: out, level, gainDb };
}

/**
 * Leaves speech peaks (about 12 dB over the target level) alone; a click or a bump of the toy,
 * made louder with the speech, is bent under full scale instead of limiting the gain for all of
 * the recording (one knock would otherwise leave the whole recording quiet). Smooth at LIMIT (same slope), so it adds no corner of its own.
 */
function limit(x: number): number {
  const a = Math.abs(x);
  if (a <= LIMIT) return x;
  return Math.sign(x) * (LIMIT + (CEILING - LIMIT) * Math.tanh((a - LIMIT) / (CEILING - LIMIT)));
}

function db(amplitude: number): number {
  return 20 * Math.log10(amplitude);
}
