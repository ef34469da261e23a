package httpx

import (
	"database/sql"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the server's Prometheus registry and HTTP instruments.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics creates a registry with Go runtime and process collectors and
// the HTTP request instruments.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m.requests, m.latency)
	return m
}

// RegisterDBStats exports connection-pool statistics, one label value per pool.
func (m *Metrics) RegisterDBStats(pools map[string]func() sql.DBStats) {
	m.reg.MustRegister(dbCollector{pools: pools})
}

// Register adds a collector (for domain metrics such as audit buffering).
func (m *Metrics) Register(c prometheus.Collector) { m.reg.MustRegister(c) }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func (m *Metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, statusLabel(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

var (
	dbOpen  = prometheus.NewDesc("gatehouse_db_open_connections", "Open connections in the pool.", []string{"pool"}, nil)
	dbInUse = prometheus.NewDesc("gatehouse_db_in_use_connections", "Connections in use.", []string{"pool"}, nil)
	dbIdle  = prometheus.NewDesc("gatehouse_db_idle_connections", "Idle connections.", []string{"pool"}, nil)
	dbWait  = prometheus.NewDesc("gatehouse_db_wait_count_total", "Waits for a connection.", []string{"pool"}, nil)
	dbWaitD = prometheus.NewDesc("gatehouse_db_wait_seconds_total", "Time spent waiting for a connection.", []string{"pool"}, nil)
)

type dbCollector struct {
	pools map[string]func() sql.DBStats
}

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbOpen, dbInUse, dbIdle, dbWait, dbWaitD} {
		ch <- d
	}
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	for name, stats := range c.pools {
		s := stats()
		ch <- prometheus.MustNewConstMetric(dbOpen, prometheus.GaugeValue, float64(s.OpenConnections), name)
		ch <- prometheus.MustNewConstMetric(dbInUse, prometheus.GaugeValue, float64(s.InUse), name)
		ch <- prometheus.MustNewConstMetric(dbIdle, prometheus.GaugeValue, float64(s.Idle), name)
		ch <- prometheus.MustNewConstMetric(dbWait, prometheus.CounterValue, float64(s.WaitCount), name)
		ch <- prometheus.MustNewConstMetric(dbWaitD, prometheus.CounterValue, s.WaitDuration.Seconds(), name)
	}
}
