import type { Catalog, Resolution } from '@tollgate/catalog';
import type { StoreTransaction } from './store/store.js';

/** The seats of an account at one instant, derived from its resolution and assignments. */
export interface SeatCount {
  /** The resolved limit of the catalog's seats feature: 0 without access, null unlimited. */
  limit: number | null;
  /** Seats users may take: the limit, less one when the buyer occupies a seat. */
  assignable: number | null;
  /** Users with a live assignment, in the order they were assigned. */
  holders: string[];
  /**
   * The holders that hold a seat now: all of them, or, when the limit fell below their
   * number (a smaller quantity, a cheaper plan), the earliest assigned, up to the limit.
   */
  seated: string[];
}

/**
 * Counts the seats of `customerId` under `resolution`. The rule for a limit that falls
 * below the holders keeps every assignment (nothing is deleted behind the admin's back)
 * but seats only the earliest: the others are denied `no_seat` until seats free up.
 */
export async function countSeats(
  tx: StoreTransaction,
  catalog: Catalog,
  resolution: Resolution,
  customerId: string,
): Promise<SeatCount> {
  const seats = resolution.entitlements.find((entry) => entry.kind === 'seats');
  const limit = seats === undefined || !seats.access ? 0 : seats.limit;
  const buyer = catalog.seats.buyerOccupiesSeat ? 1 : 0;
  const assignable = limit === null ? null : Math.max(0, limit - buyer);
  const holders = await tx.accounts.listSeatHolders(customerId);
  const seated = assignable === null ? holders : holders.slice(0, assignable);
  return { limit, assignable, holders, seated };
}
