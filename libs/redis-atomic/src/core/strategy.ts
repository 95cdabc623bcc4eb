/** How a module makes its operations atomic: one FCALL, MULTI / WATCH+MULTI, or in process (no Redis). */
export type AtomicStrategy = 'functions' | 'transactions' | 'memory';
export const ATOMIC_STRATEGIES: readonly AtomicStrategy[] = ['functions', 'transactions', 'memory'];
