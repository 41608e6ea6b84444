import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { telemetry } from '../shared/telemetry.ts';

export interface TelemetrySettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL (OTLP over HTTP, JSON); traces go to /v1/traces, metrics to /v1/metrics. */
  endpoint: string;
  serviceName: string;
  version: string;
  /** How often metrics are sent (OTEL_METRIC_EXPORT_INTERVAL, ms). */
  metricIntervalMs: number;
}

/**
 * Switches OpenTelemetry on with the official SDK: a tracer provider with a
 * batching OTLP/HTTP exporter, the async-local-storage context manager (so a
 * statement's span is a child of its request's), and a meter provider that
 * exports the request-duration histogram periodically. Returns what flushes
 * and stops it; the runtime closes it on shutdown.
 */
export function startTelemetry(settings: TelemetrySettings) {
  const resource = resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': settings.version });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const tracerProvider = new TracerProvider({ resource, spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${settings.endpoint}/v1/traces` }) })] });
  trace.setGlobalTracerProvider(tracerProvider);
  const meterProvider = new MeterProvider({
    resource,
    readers: [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${settings.endpoint}/v1/metrics` }), exportIntervalMillis: settings.metricIntervalMs })],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  telemetry.tracer = trace.getTracer('custos', settings.version);
  telemetry.requestDuration = metrics.getMeter('custos', settings.version).createHistogram('http.server.request.duration', {
    unit: 's',
    description: 'Duration of HTTP requests, by method, route pattern and status',
  });
  return {
    async flush(): Promise<void> {
      await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
    async close(): Promise<void> {
      telemetry.tracer = undefined;
      telemetry.requestDuration = undefined;
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}

export type TelemetryExport = ReturnType<typeof startTelemetry>;
