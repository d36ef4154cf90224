// The model-independent safety layer: see SAFETY.md.
export { checkEarlyClause, checkInput, checkOutput } from "./check.ts";
export { safetyLine, allSafetyLines, type SafetyLineKind } from "./lines.ts";
export { effectivePolicy } from "./policy.ts";
export { normalize } from "./normalize.ts";
export { SAFETY_CATEGORIES, type SafetyAction, type SafetyCategory, type SafetyPolicy, type SafetyStage, type SafetyVerdict } from "./types.ts";
