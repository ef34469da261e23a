package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
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
	p.QuarantineDisableAfter = time.Duration(a.Cfg.Prov.QuarantineDisableAfter)
	var once sync.Once
	var key *seal.Key
	var keyErr error
	p.Key = func() (*seal.Key, error) {
		once.Do(func() { key, keyErr = a.secretsKey() })
		return key, keyErr
	}
	hook, mail := a.Cfg.Prov.NotifyWebhook, a.Cfg.Prov.SMTP
	if hook != "" || mail.Addr != "" {
		p.Notify = func(ctx context.Context, n provisioning.Notification) {
			if hook != "" {
				a.postNotification(ctx, p.HTTP, hook, n)
			}
			if mail.Addr != "" {
				if err := sendNotificationMail(mail, n); err != nil {
					a.Log.Warn("provisioning: notification mail failed", "err", err)
				}
			}
		}
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

// sendNotificationMail mails a notification (STARTTLS when offered).
func sendNotificationMail(m config.SMTP, n provisioning.Notification) error {
	host, _, _ := net.SplitHostPort(m.Addr)
	var auth smtp.Auth
	if m.Username != "" {
		auth = smtp.PlainAuth("", m.Username, m.Password, host)
	}
	subject := fmt.Sprintf("[Gatehouse] application %s: %s", n.Application, n.Kind)
	var body strings.Builder
	fmt.Fprintf(&body, "Application: %s (%s)\r\nEvent: %s\r\nReason: %s\r\nDetail: %s\r\nTime: %s\r\n", n.Application, n.AppID, n.Kind, n.Reason, n.Detail, n.Time.Format(time.RFC3339))
	if n.Staged > 0 {
		fmt.Fprintf(&body, "Staged disables/deletes: %d (gatehouse app status %s; approve-deletes or reject-deletes)\r\n", n.Staged, n.Application)
	}
	msg := "From: " + m.From + "\r\nTo: " + strings.Join(m.To, ", ") + "\r\nSubject: " + subject +
		"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body.String()
	return smtp.SendMail(m.Addr, auth, m.From, m.To, []byte(msg))
}

// runProvisioning runs the provisioning scheduler until ctx ends.
func (a *App) runProvisioning(ctx context.Context) {
	if !a.Cfg.Prov.SchedulerEnabled() {
		a.Log.Info("provisioning scheduler disabled (provisioning.scheduler: false)")
		return
	}
	a.Prov.RunScheduler(ctx, time.Duration(a.Cfg.Prov.Tick))
}
