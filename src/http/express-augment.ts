import type { Principal } from '../modules/auth/schema.ts';

/** What Custos attaches to each request on its way through the middleware. */
export interface RequestState {
  requestId: string;
  startedAt: bigint;
  /** The documented route pattern, once a route matched (logged instead of the raw URL). */
  route?: string;
  principal?: Principal;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      custos?: RequestState;
    }
  }
}
