/** The gateway's version, as /openapi.json and OpenTelemetry's service.version state it. */
export const CUSTOS_VERSION = '0.1.0';
