package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"strconv"
	"time"
)

// sendMail delivers msg to one address through the configured mail server
// with the standard library's net/smtp: a connection of its own, bounded
// by SMTPConfig.Timeout and cut when ctx ends (Shutdown).
func (s *Server) sendMail(ctx context.Context, to string, msg []byte) error {
	c := s.cfg.SMTP
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	tlsConf := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12, RootCAs: s.cfg.SMTPRootCAs}
	var conn net.Conn
	var err error
	d := &net.Dialer{}
	if c.TLS == SMTPImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("failed to reach the mail server: %w", err)
	}
	// net/smtp takes no context: the deadline and a close on ctx's end
	// stand for one.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(c.Timeout))
	}
	client, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("failed to start SMTP: %w", err)
	}
	defer client.Close()
	if err := s.smtpDialogue(client, tlsConf, to, msg); err != nil {
		return err
	}
	// The mail is accepted once DATA is answered; QUIT's answer does
	// not matter.
	client.Quit()
	return nil
}

// smtpDialogue says hello, secures and authenticates as configured, and
// sends msg.
func (s *Server) smtpDialogue(client *smtp.Client, tlsConf *tls.Config, to string, msg []byte) error {
	c := s.cfg.SMTP
	// EHLO names no host of ours: "localhost", net/smtp's default.
	if err := client.Hello("localhost"); err != nil {
		return fmt.Errorf("SMTP hello: %w", err)
	}
	if c.TLS == SMTPStartTLS {
		if ok, _ := client.Extension("STARTTLS"); !ok {
			return errors.New("the mail server does not offer STARTTLS (--smtp-tls starttls): nothing was sent in clear")
		}
		if err := client.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("SMTP STARTTLS: %w", err)
		}
	}
	if c.Username != "" {
		if err := client.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return fmt.Errorf("SMTP login: %w", err)
		}
	}
	if err := client.Mail(c.From); err != nil {
		return fmt.Errorf("SMTP MAIL FROM: %w", err)
	}
	if err := client.Rcpt(to); err != nil {
		return fmt.Errorf("SMTP RCPT TO: %w", err)
	}
	w, err := client.Data()
	if err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	return nil
}
