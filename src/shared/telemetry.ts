import { context, trace, type Attributes, type Histogram, type Span, type Tracer } from '@opentelemetry/api';

/**
 * OpenTelemetry, when it is switched on (OTEL_EXPORTER_OTLP_ENDPOINT; see
 * src/http/telemetry-export.ts). Off, nothing here does any work: `tracer`
 * is undefined and every helper calls its work straight away, so the hot
 * paths pay one comparison. On, the request middleware opens a span per
 * request, database statements open child spans, and routes add their
 * decision. Attributes are route patterns, codes and counts, never a value.
 */
export const telemetry: { tracer?: Tracer; requestDuration?: Histogram } = {};

/** Runs `work` in a child span of the current one (when telemetry is on), ended when it settles. */
export function inSpan<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  const { tracer } = telemetry;
  if (!tracer) return work();
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: 2, message: error instanceof Error ? error.name : 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds attributes (a decision, its reason codes) to the request's span, when there is one. */
export function noteOnRequest(attributes: Attributes): void {
  if (telemetry.tracer) trace.getActiveSpan()?.setAttributes(attributes);
}

/** Starts a request's span and runs `next` inside it; the caller ends it. */
export function startRequestSpan(name: string, attributes: Attributes, next: () => void): Span | undefined {
  const { tracer } = telemetry;
  if (!tracer) {
    next();
    return undefined;
  }
  const span = tracer.startSpan(name, { kind: 1, attributes });
  context.with(trace.setSpan(context.active(), span), next);
  return span;
}
