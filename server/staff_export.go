package server

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffExport answers POST /staff/export: the cases its "case"
// fields name (one from a case page, or up to a page of them ticked in the
// inbox) as a zip download holding what `candour export` writes for them
// (WriteExport): their age files, the wraps of their channels' keys and
// their questionnaires' definitions, and a manifest with the SHA-256 of
// each file. Nothing is decrypted: the caseworker opens it with their own
// key (age -d, or candour decrypt). Confidential identity details are
// left out; custodians hand those out one grant at a time.
//
// Every case must be one the caseworker may see, or nothing is sent.
// Each exported case gets an audit entry before the first byte goes out,
// so that no export goes unrecorded. The zip is streamed from one
// snapshot of the database as it is written, attachments chunk by chunk:
// memory stays bounded whatever the cases hold.
func (s *Server) handleStaffExport(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	me := staffOf(c)
	back := staffBack(form.Get("back"))
	cases, err := s.selectedCases(ctx, me.ID, form, back)
	if err != nil {
		return err
	}
	ids := make([]int64, len(cases))
	refs := make([]string, len(cases))
	for i, cs := range cases {
		ids[i], refs[i] = cs.ID, cs.Ref
	}
	if !s.exports.take(me.ID) {
		return errExportBusy
	}
	// From here the slot is released when the zip has been sent (by the
	// writer below), or now if nothing is sent.
	sending := false
	defer func() {
		if !sending {
			s.exports.release(me.ID)
		}
	}()
	detail := "zip download"
	if len(cases) > 1 {
		detail = fmt.Sprintf("zip download of %d cases: %s", len(cases), strings.Join(refs, " "))
	}
	if err := s.changeEach(ctx, me.Username, cases, back, func(context.Context, storage.Case) (string, string, error) {
		return "case.export", detail, nil
	}); err != nil {
		return err
	}
	now := s.db.Now().UTC()
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="candour-export-`+now.Format("2006-01-02")+`.zip"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	// The writer runs after this handler has returned, while the response
	// is sent: it must not touch c, whose request context fasthttp reuses.
	// WriteTimeout bounds it, and with it how long the snapshot stays open.
	db, log, slots, staffID := s.db, s.log, &s.exports, me.ID
	sending = true
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer slots.release(staffID)
		zw := zip.NewWriter(w)
		_, err := WriteExport(context.Background(), db, ZipTarget{W: zw, Modified: now}, ExportOptions{Cases: ids, Created: now})
		if err == nil {
			err = zw.Close()
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			// The zip is cut short, without its central directory: no
			// reader takes it for a whole export.
			log.Error("console export failed", "err", err, "cases", len(ids))
		}
	})
	return nil
}
