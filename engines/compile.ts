/**
 * Where both engine families meet a candidate's module first: V8's validator (the spec validator
 * of the engine's own pinned node binary) and the module reader. A module either refuses is a
 * deterministic prevalidation failure, thrown as InvalidCandidate, as polkadot's wasmtime refuses
 * it at preparation (PrepareError::Preparation).
 */
import { InvalidCandidate } from '../core/candidate/verdict.ts';
import { parseModule, WasmFormatError, type WasmModuleInfo } from '../core/wasm/wasm.ts';

/** The module's imports, exports and memory, as the engines read them. */
export function readModuleOrInvalid(code: Uint8Array): WasmModuleInfo {
  try {
    return parseModule(code);
  } catch (e) {
    if (e instanceof WasmFormatError) throw new InvalidCandidate('prevalidation', e.message);
    throw e;
  }
}

/** Compile with V8 (the v8 engines' preparation). */
export async function compileOrInvalid(code: Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(code);
  } catch (e) {
    if (e instanceof WebAssembly.CompileError) throw new InvalidCandidate('prevalidation', `compile error: ${e.message}`);
    throw e;
  }
}

/** Validate with V8 without keeping the compiled module (the wasmi engines, which run it elsewhere). */
export function validateOrInvalid(code: Uint8Array): void {
  if (WebAssembly.validate(code)) return;
  let why = 'the module is not valid Wasm';
  try {
    new WebAssembly.Module(code);
  } catch (e) {
    if (!(e instanceof WebAssembly.CompileError)) throw e;
    why = e.message;
  }
  throw new InvalidCandidate('prevalidation', `compile error: ${why}`);
}
