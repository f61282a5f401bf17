import { z } from 'zod';
import { identifierPattern } from '@tollgate/core';

/**
 * The catalog file's shape, as written in YAML (snake_case). Messages say what was
 * expected; the loader prefixes each with the path of the offending field.
 */
const nonNegativeInteger = 'expected a non-negative integer';
const positiveInteger = 'expected a positive integer';

const count = z
  .number({ error: nonNegativeInteger })
  .int({ error: nonNegativeInteger })
  .min(0, { error: nonNegativeInteger })
  .max(Number.MAX_SAFE_INTEGER, { error: nonNegativeInteger });
const positive = count.min(1, { error: positiveInteger });
const key = z.string().regex(identifierPattern, {
  error: 'expected 1-128 characters from A-Z a-z 0-9 _ - . :',
});
const instant = z
  .string({ error: 'expected an ISO 8601 instant' })
  .refine((text) => /(Z|[+-]\d\d:\d\d)$/.test(text) && Number.isFinite(Date.parse(text)), {
    error: 'expected an ISO 8601 instant with a time zone, e.g. 2026-03-01T00:00:00Z',
  });
const behavior = z.enum(['hard', 'soft'], { error: 'expected "hard" or "soft"' });
const category = z.enum(['paid', 'promotional'], { error: 'expected "paid" or "promotional"' });
const periodUnit = z.enum(['hour', 'day', 'week', 'month', 'year'], {
  error: 'expected one of hour, day, week, month, year',
});
const burnRule = z.enum(['priority', 'promotional_first', 'soonest_expiry', 'oldest'], {
  error: 'expected one of priority, promotional_first, soonest_expiry, oldest',
});
const combineRule = z.enum(['sum', 'set', 'max', 'or'], {
  error: 'expected one of sum, set, max, or',
});
// Zones are checked against Intl in normalisation, where the field can be named exactly.
const timeZone = z.string({ error: 'expected an IANA time zone such as Europe/Berlin' });
const isoCurrency = z.string().regex(/^[A-Z]{3}$/, { error: 'expected an ISO 4217 code' });

const currency = z.strictObject({
  display_scale: count.max(18, { error: 'expected an integer from 0 to 18' }).default(0),
  behavior: behavior.default('hard'),
  burn_order: z
    .array(burnRule)
    .default(['priority', 'promotional_first', 'soonest_expiry', 'oldest']),
  /** Soft currencies only: how far below zero a balance may go; absent for no bound. */
  overage_cap: count.optional(),
});

const feature = z.strictObject({
  kind: z.enum(['boolean', 'config', 'metered', 'credits', 'seats'], {
    error: 'expected one of boolean, config, metered, credits, seats',
  }),
  currency: key.optional(),
  cost: count.optional(),
  reset: z
    .strictObject({
      every: periodUnit,
      on: z.enum(['anchor', 'calendar']).default('anchor'),
      interval: positive.default(1),
    })
    .optional(),
  requires_seat: z.boolean().default(false),
  combine: combineRule.optional(),
});

const limit = z.union([count, z.literal('unlimited'), z.literal('quantity')], {
  error: 'expected a non-negative integer, "unlimited" or "quantity"',
});
const entitlement = z.union([
  z.literal(true),
  z.strictObject({ limit: limit.optional(), behavior: behavior.optional() }),
]);

const recurringGrant = z.strictObject({
  currency: key,
  amount: positive,
  category,
  priority: count.default(0),
  every: periodUnit.default('month'),
  expires: z.enum(['period_end', 'never']).default('period_end'),
  per_unit: z.boolean().default(false),
  cost_basis: count.default(0),
  cost_basis_currency: isoCurrency.default('USD'),
  /** Unused credits carried into the next period, at most this many; absent for none. */
  rollover_max: count.optional(),
});

const planVersion = z.strictObject({
  version: positive,
  published_at: instant,
  entitlements: z.record(key, entitlement).default({}),
  credits: z.array(recurringGrant).default([]),
});

const addon = z.strictObject({
  entitlements: z
    .record(
      key,
      z.union([
        z.literal(true),
        count,
        z.literal('unlimited'),
        z.strictObject({ add: count }),
        z.strictObject({ set: z.union([count, z.literal('unlimited')]) }),
        z.strictObject({ max: z.union([count, z.literal('unlimited')]) }),
      ]),
    )
    .default({}),
  grant: z
    .strictObject({
      currency: key,
      amount: positive,
      category,
      priority: count.default(0),
      expires_after_months: positive.optional(),
      cost_basis: count.default(0),
      cost_basis_currency: isoCurrency.default('USD'),
    })
    .optional(),
});

const trial = z.strictObject({ plan: key, days: positive, fallback_plan: key });

export const catalogFileSchema = z.strictObject({
  schema_version: z.literal(1, { error: 'expected 1 (the only catalog schema version)' }),
  currencies: z.record(key, currency).default({}),
  features: z.record(key, feature),
  time_zone: timeZone.default('UTC'),
  lifecycle: z
    .strictObject({ grace_period_days: count.default(0) })
    .default({ grace_period_days: 0 }),
  seats: z
    .strictObject({ buyer_occupies_seat: z.boolean().default(false) })
    .default({ buyer_occupies_seat: false }),
  plans: z.record(
    key,
    z.strictObject({
      versions: z.array(planVersion).min(1),
      time_zone: timeZone.optional(),
      fallback_plan: key.optional(),
      billing: z
        .strictObject({ every: periodUnit.default('month'), interval: positive.default(1) })
        .default({ every: 'month', interval: 1 }),
    }),
  ),
  addons: z.record(key, addon).default({}),
  trials: z.record(key, trial).default({}),
});

export type CatalogFile = z.infer<typeof catalogFileSchema>;
