/** Absolute path of the optimised evaluator (no assertions). */
export declare const releaseWasmPath: string;
/** Absolute path of the debug evaluator (assertions on, names kept). */
export declare const debugWasmPath: string;
/** Absolute path of the optimised evaluator over an imported shared memory, for threads. */
export declare const sharedWasmPath: string;
