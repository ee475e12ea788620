/**
 * Prometheus metrics on a per-server registry (never prom-client's global one, so two servers
 * in one process, as in tests, do not share or clash).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface ServerMetrics {
  registry: Registry
  requests: Counter<'method' | 'route' | 'status'>
  requestSeconds: Histogram<'method' | 'route' | 'status'>
  appendedRecords: Counter
  appendedBytes: Counter
}

export function createMetrics(partitionCount: () => number): ServerMetrics {
  const registry = new Registry()
  const labelNames = ['method', 'route', 'status'] as const
  const requests = new Counter({
    name: 'cairn_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames,
    registers: [registry],
  })
  const requestSeconds = new Histogram({
    name: 'cairn_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status',
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const appendedRecords = new Counter({
    name: 'cairn_appended_records_total',
    help: 'Records appended through the HTTP API (log records and kv writes)',
    registers: [registry],
  })
  const appendedBytes = new Counter({
    name: 'cairn_appended_bytes_total',
    help: 'Payload bytes appended through the HTTP API',
    registers: [registry],
  })
  new Gauge({
    name: 'cairn_partitions',
    help: 'Partitions in the store',
    registers: [registry],
    collect() {
      this.set(partitionCount())
    },
  })
  return { registry, requests, requestSeconds, appendedRecords, appendedBytes }
}
