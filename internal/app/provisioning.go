package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/seal"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// openProvisioning builds the provisioning engine on the opened store.
func (a *App) openProvisioning() {
	p := provisioning.NewService()
	p.Store, p.Dir, p.Log = a.DB, a.Dir, a.Log
	p.HTTP = httpx.NewClient(httpx.ClientOptions{DenyPrivate: !a.Cfg.Prov.PrivateTargets(), UserAgent: "Gatehouse/" + Version})
	p.DefaultInterval = time.Duration(a.Cfg.Prov.DefaultInterval)
	p.MinInterval = time.Duration(a.Cfg.Prov.MinInterval)
	p.FullSyncEvery = time.Duration(a.Cfg.Prov.FullSyncEvery)
	p.LeaseTTL = time.Duration(a.Cfg.Prov.LeaseTTL)
	p.LogRetention = time.Duration(a.Cfg.Prov.LogRetention)
	var once sync.Once
	var key *seal.Key
	var keyErr error
	p.Key = func() (*seal.Key, error) {
		once.Do(func() { key, keyErr = a.secretsKey() })
		return key, keyErr
	}
	if hook := a.Cfg.Prov.NotifyWebhook; hook != "" {
		p.Notify = func(ctx context.Context, n provisioning.Notification) { a.postNotification(ctx, p.HTTP, hook, n) }
	}
	a.Prov = p
}

// secretsKey loads the key that seals stored secrets: GATEHOUSE_SECRET_KEY(_FILE),
// else secrets.key_file, else (SQLite only) <db>.key, generated on first use.
func (a *App) secretsKey() (*seal.Key, error) {
	switch {
	case a.Cfg.Secrets.Key != "":
		return seal.ParseKey(a.Cfg.Secrets.Key)
	case a.Cfg.Secrets.KeyFile != "":
		return seal.LoadFile(a.Cfg.Secrets.KeyFile)
	case a.DB.Dialect() == sqlstore.SQLite:
		path := a.Cfg.DB + ".key"
		k, created, err := seal.LoadOrCreate(path)
		if err != nil {
			return nil, err
		}
		if created {
			a.Log.Warn("generated the secrets key that encrypts provisioning target tokens; back it up with the database (without it the tokens must be set again)",
				"path", path, "key_id", k.ID())
		}
		return k, nil
	}
	return nil, fault.New(fault.InvalidValue, "secrets.key_file",
		"a secrets key is required on PostgreSQL to encrypt provisioning target tokens: set secrets.key_file (or GATEHOUSE_SECRET_KEY_FILE) to a file holding base64 of 32 random bytes, e.g. head -c32 /dev/urandom | base64 > gatehouse.key, the same file on every replica")
}

// postNotification POSTs a notification to the configured webhook (best effort).
func (a *App) postNotification(ctx context.Context, hc *http.Client, url string, n provisioning.Notification) {
	body, _ := json.Marshal(n)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		a.Log.Error("provisioning: notification", "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		a.Log.Warn("provisioning: notification webhook failed", "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		a.Log.Warn("provisioning: notification webhook answered", "status", resp.StatusCode)
	}
}

// runProvisioning runs the provisioning scheduler until ctx ends.
func (a *App) runProvisioning(ctx context.Context) {
	if !a.Cfg.Prov.SchedulerEnabled() {
		a.Log.Info("provisioning scheduler disabled (provisioning.scheduler: false)")
		return
	}
	a.Prov.RunScheduler(ctx, time.Duration(a.Cfg.Prov.Tick))
}
