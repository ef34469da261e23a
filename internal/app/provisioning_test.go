package app

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
)

// TestNotificationMail speaks SMTP with a minimal server and checks the mail.
func TestNotificationMail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		say := func(s string) { c.Write([]byte(s + "\r\n")) }
		say("220 fake ESMTP")
		var data strings.Builder
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch {
			case inData && line == ".\r\n":
				inData = false
				say("250 ok")
				got <- data.String()
			case inData:
				data.WriteString(line)
			case strings.HasPrefix(line, "EHLO"), strings.HasPrefix(line, "HELO"):
				say("250 fake")
			case strings.HasPrefix(line, "DATA"):
				inData = true
				say("354 go on")
			case strings.HasPrefix(line, "QUIT"):
				say("221 bye")
				return
			default:
				say("250 ok")
			}
		}
	}()
	m := config.SMTP{Addr: ln.Addr().String(), From: "gatehouse@corp.example", To: []string{"ops@corp.example"}}
	n := provisioning.Notification{Kind: provisioning.NotifyQuarantined, Application: "aws", AppID: "a1", Reason: provisioning.QuarantineAuth, Detail: "HTTP 401", Time: time.Now()}
	if err := sendNotificationMail(m, n); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-got:
		for _, want := range []string{"Subject: [Gatehouse] application aws: quarantined", "Reason: EncounteredQuarantineException", "Detail: HTTP 401"} {
			if !strings.Contains(msg, want) {
				t.Errorf("mail lacks %q:\n%s", want, msg)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no mail")
	}
}
