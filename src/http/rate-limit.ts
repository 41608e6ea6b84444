import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import { TooManyRequests } from '../shared/errors.ts';

const common = (perMinute: number) => ({
  windowMs: 60_000,
  limit: perMinute,
  standardHeaders: 'draft-8' as const,
  legacyHeaders: false,
  handler: (_req: Request, _res: unknown, next: (error: unknown) => void, options: { windowMs: number }) => {
    next(new TooManyRequests('too many attempts; wait before trying again', options.windowMs / 1000));
  },
});

// IPv6 clients are grouped by /56, so one host cannot rotate through its own addresses.
const address = (req: Request) => `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;

/** Where counters live: one store per limiter (the database's, shared by every replica). */
export type RateLimitStores = (name: string) => Store;

/** Requests per client address per minute, for routes anyone may call (customer privacy requests). */
export function addressRateLimit(perMinute: number, name: string, stores: RateLimitStores): RequestHandler {
  return rateLimit({ ...common(perMinute), identifier: name, store: stores(name), keyGenerator: (req) => address(req) });
}

/**
 * Brute-force guard for credential endpoints. It runs before any argon2 work,
 * so a burst of guesses is turned away cheaply with 429 and Retry-After. Two
 * windows: every attempt per client address, and failures per address and
 * account together. Counters are per process.
 */
export function credentialRateLimit(name: string, perMinute: number, accountOf: (req: Request) => string | undefined, stores: RateLimitStores): RequestHandler[] {
  return [
    rateLimit({ ...common(perMinute), limit: perMinute * 4, identifier: 'address', store: stores(`${name}-address`), keyGenerator: address }),
    rateLimit({
      ...common(perMinute),
      identifier: 'account',
      store: stores(`${name}-account`),
      // Successful sign-ins give their slot back: only failures use up an account's budget.
      skipSuccessfulRequests: true,
      // Per address and account together: failures from one place cannot lock the account for everyone
      // (a stranger guessing an app's secret would otherwise deny the app its tokens). Client secrets are
      // 256 random bits, so spreading guesses over many addresses gains an attacker nothing.
      keyGenerator: (req) => `account:${address(req)}|${accountOf(req) ?? ''}`,
    }),
  ];
}
