/**
 * The diagnostics channel each settled or released hold is published on, with a
 * `SettlementMessage` from `@tollgate/runtime`: customer, feature, reservation, status,
 * quantity charged, outcome, and the error of a settle that failed.
 */
export const settlementChannelName = 'tollgate:express:settlement';
